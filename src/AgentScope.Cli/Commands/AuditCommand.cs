using System.CommandLine;
using AgentScope.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Cli.Commands;

/// <summary><c>agentscope audit tail|verify</c>.</summary>
internal sealed class AuditCommand : Command
{
    public AuditCommand(CliIO io) : base("audit", "Read and verify the audit trail")
    {
        Subcommands.Add(Tail(io));
        Subcommands.Add(Verify(io));
    }

    private static IAuditTrail Trail(CliContext ctx) => ctx.Services.GetService<IAuditTrail>()
        ?? throw AgentScopeException.InvalidInput("the configured audit sink cannot be read back");

    private static Command Tail(CliIO io)
    {
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the newest events", DefaultValueFactory = _ => 20 };
        var agent = new Option<string?>("--agent") { Description = "Only this agent" };
        var cmd = new Command("tail", "Print the newest audit events (never values)") { lines, agent, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var n = ctx.GetValue(lines);
            if (n is <= 0 or > 100_000)
            {
                throw AgentScopeException.InvalidInput("--lines must be between 1 and 100000");
            }

            var query = new AuditQuery { AgentId = ctx.GetValue(agent), Limit = n, Newest = true };
            await foreach (var e in Trail(ctx).QueryAsync(query, ct).ConfigureAwait(false))
            {
                await ctx.IO.Out.WriteLineAsync(ctx.GetValue(CliOptions.Json)
                    ? System.Text.Json.JsonSerializer.Serialize(e, CliJson.Compact.AuditEvent)
                    : $"{e.Time:u} {e.Actor,-22} {e.Action,-16} {e.AgentId ?? "-",-16} {e.Label ?? "-",-24} {e.Outcome}{(e.Reason is null ? "" : " (" + e.Reason + ")")}").ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command Verify(CliIO io)
    {
        var cmd = new Command("verify", "Check the audit trail's hash chain; exit 0 when intact, 6 when tampered");
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var result = await Trail(ctx).VerifyAsync(ct).ConfigureAwait(false);
            if (result.Valid)
            {
                await ctx.IO.Out.WriteLineAsync($"audit trail intact: {result.Events} events").ConfigureAwait(false);
                return CliRunner.Ok;
            }

            await ctx.IO.Error.WriteLineAsync($"audit trail BROKEN after {result.Events} events: {result.Problem}").ConfigureAwait(false);
            return 6;
        });
        return cmd;
    }
}
