using System.CommandLine;

namespace AgentScope.Cli.Commands;

/// <summary>
/// <c>agentscope secret put|get|rm|ls|totp</c>: as the agent in <c>AGENTSCOPE_API_KEY</c>, or as administrator with <c>--agent</c>.
/// Values come from stdin or <c>--file</c>, never from arguments.
/// </summary>
internal sealed class SecretCommand : Command
{
    public SecretCommand(CliIO io) : base("secret", "Store, read and delete an agent's secrets")
    {
        Options.Add(CliOptions.Agent);
        CliOptions.Agent.Recursive = true;
        Options.Add(CliOptions.Justification);
        CliOptions.Justification.Recursive = true;
        Subcommands.Add(Put(io));
        Subcommands.Add(Get(io));
        Subcommands.Add(Remove(io));
        Subcommands.Add(List(io));
        Subcommands.Add(Totp(io));
    }

    private static Argument<string> Label() => new("label") { Description = "The label (letters, digits, '.', '_', '-')" };

    private static Command Put(CliIO io)
    {
        var label = Label();
        var totp = new Option<bool>("--totp") { Description = "The value is a TOTP seed (base32) or an otpauth://totp/ URI" };
        var file = new Option<string?>("--file", "-f") { Description = "Read the value from this file instead of stdin" };
        var expires = new Option<string?>("--expires-in") { Description = "Expire the entry after this long (e.g. 30m, 7d)" };
        var cmd = new Command("put", "Store a value read from stdin (one trailing newline trimmed) or --file") { label, totp, file, expires, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var l = Names.ValidateLabel(ctx.GetValue(label));
            var vault = await ctx.OpenVaultAsync(ct).ConfigureAwait(false);
            var value = await ctx.IO.ReadValueAsync(ctx.GetValue(file), ct).ConfigureAwait(false);
            var options = new StoreOptions
            {
                Kind = ctx.GetValue(totp) ? SecretKind.Totp : SecretKind.Generic,
                ExpiresAt = ctx.GetValue(expires) is { } e ? DateTimeOffset.UtcNow + Durations.Parse(e) : null,
            };
            var result = await vault.StoreAsync(l, new SecretValue(value), options, ct).ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync($"{(result.Created ? "stored" : "updated")} {l} (version {result.Version})").ConfigureAwait(false);
            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command Get(CliIO io)
    {
        var label = Label();
        var cmd = new Command("get", "Print a value to stdout") { label, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var vault = await ctx.OpenVaultAsync(ct).ConfigureAwait(false);
            var entry = await vault.GetAsync(ctx.GetValue(label), ct).ConfigureAwait(false);
            if (ctx.GetValue(CliOptions.Json))
            {
                await ctx.WriteJsonAsync(new SecretJson(entry.Label, entry.Value.Reveal(), entry.Kind.ToString().ToLowerInvariant(), entry.Version, entry.UpdatedAt, entry.ExpiresAt),
                    CliJson.Default.SecretJson).ConfigureAwait(false);
            }
            else
            {
                await ctx.IO.Out.WriteLineAsync(entry.Value.Reveal()).ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command Remove(CliIO io)
    {
        var label = Label();
        var cmd = new Command("rm", "Delete a label and all its versions") { label };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var vault = await ctx.OpenVaultAsync(ct).ConfigureAwait(false);
            await vault.DeleteAsync(ctx.GetValue(label), ct).ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync($"deleted {ctx.GetValue(label)}").ConfigureAwait(false);
            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command List(CliIO io)
    {
        var cmd = new Command("ls", "List labels (never values)") { CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var vault = await ctx.OpenVaultAsync(ct).ConfigureAwait(false);
            var labels = await vault.ListAsync(ct).ConfigureAwait(false);
            if (ctx.GetValue(CliOptions.Json))
            {
                await ctx.WriteJsonAsync(new LabelsJson(labels), CliJson.Default.LabelsJson).ConfigureAwait(false);
                return CliRunner.Ok;
            }

            foreach (var s in labels)
            {
                await ctx.IO.Out.WriteLineAsync($"{s.Label,-40} {s.Kind.ToString().ToLowerInvariant(),-8} v{s.Version,-5} {s.UpdatedAt:u}").ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command Totp(CliIO io)
    {
        var label = Label();
        var cmd = new Command("totp", "Print the current TOTP code of a TOTP entry (the seed never leaves)") { label, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var vault = await ctx.OpenVaultAsync(ct).ConfigureAwait(false);
            var code = await vault.GetTotpAsync(ctx.GetValue(label), ct).ConfigureAwait(false);
            if (ctx.GetValue(CliOptions.Json))
            {
                await ctx.WriteJsonAsync(code, CliJson.Default.TotpCode).ConfigureAwait(false);
            }
            else
            {
                await ctx.IO.Out.WriteLineAsync(code.Code).ConfigureAwait(false);
                await ctx.IO.Error.WriteLineAsync($"valid for {code.Remaining}s").ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }
}
