using System.CommandLine;
using System.Text.Json;
using AgentScope.Agents;

namespace AgentScope.Cli.Commands;

/// <summary><c>agentscope agent ...</c>: create, list, show, policy, rotate-key, revoke. Runs as the home's local administrator.</summary>
internal sealed class AgentCommand : Command
{
    public AgentCommand(CliIO io) : base("agent", "Manage agent identities")
    {
        Subcommands.Add(Create(io));
        Subcommands.Add(List(io));
        Subcommands.Add(Show(io));
        Subcommands.Add(new AgentPolicyCommand(io));
        Subcommands.Add(RotateKey(io));
        Subcommands.Add(Revoke(io));
    }

    private static Argument<string> Id() => new("id") { Description = "The agent id (lowercase letters, digits, '-')" };

    private static Command Create(CliIO io)
    {
        var id = Id();
        var name = new Option<string?>("--name") { Description = "Display name" };
        var policy = new Option<string?>("--policy-file") { Description = "A policy JSON file (default: full control of its own labels)" };
        var cmd = new Command("create", "Create an agent and print its API key once, alone on stdout") { id, name, policy };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var p = ctx.GetValue(policy) is { } file ? await AgentPolicyCommand.ReadPolicyAsync(ctx, file, ct).ConfigureAwait(false) : null;
            var created = await ctx.Admin.CreateAgentAsync(ctx.GetValue(id), ctx.GetValue(name), p, ct).ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync($"Created agent '{created.Agent.Id}'. Its API key follows; it is shown only once:").ConfigureAwait(false);
            await ctx.IO.Out.WriteLineAsync(created.ApiKey).ConfigureAwait(false);
            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command List(CliIO io)
    {
        var cmd = new Command("list", "List agents") { CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var agents = await ctx.Admin.ListAgentsAsync(ct).ConfigureAwait(false);
            if (ctx.GetValue(CliOptions.Json))
            {
                await ctx.WriteJsonAsync(agents.ToList(), CliJson.Default.ListAgentInfo).ConfigureAwait(false);
                return CliRunner.Ok;
            }

            await ctx.IO.Out.WriteLineAsync($"{"ID",-24} {"STATUS",-9} {"KEYS",4}  CREATED").ConfigureAwait(false);
            foreach (var a in agents)
            {
                await ctx.IO.Out.WriteLineAsync($"{a.Id,-24} {a.Status,-9} {a.Keys.Count,4}  {a.CreatedAt:u}").ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command Show(CliIO io)
    {
        var id = Id();
        var cmd = new Command("show", "Show an agent (status, keys, policy)") { id, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var a = await ctx.Admin.GetAgentAsync(ctx.GetValue(id), ct).ConfigureAwait(false);
            await ctx.WriteJsonAsync(a, CliJson.Default.AgentInfo).ConfigureAwait(false);
            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command RotateKey(CliIO io)
    {
        var id = Id();
        var grace = new Option<string?>("--grace") { Description = "How long existing keys keep working: e.g. 0, 30m, 1h, 7d (default 1h)" };
        var cmd = new Command("rotate-key", "Issue a new API key (printed once); existing keys expire after the grace period") { id, grace };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var g = ctx.GetValue(grace) is { } text ? Durations.Parse(text) : (TimeSpan?)null;
            var key = await ctx.Admin.RotateKeyAsync(ctx.GetValue(id), g, ct).ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync("New API key follows; it is shown only once:").ConfigureAwait(false);
            await ctx.IO.Out.WriteLineAsync(key).ConfigureAwait(false);
            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Command Revoke(CliIO io)
    {
        var id = Id();
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation" };
        var cmd = new Command("revoke", "Revoke an agent: its keys stop working and every one of its secrets is destroyed") { id, yes, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var agentId = Names.ValidateAgentId(ctx.GetValue(id));
            if (!ctx.GetValue(yes))
            {
                if (!ctx.IO.StdinIsTerminal)
                {
                    throw AgentScopeException.InvalidInput("revoke destroys every secret of the agent: pass --yes to confirm");
                }

                await ctx.IO.Error.WriteAsync($"Revoke '{agentId}' and destroy all its secrets? Type the agent id to confirm: ").ConfigureAwait(false);
                if ((await ctx.IO.In.ReadLineAsync(ct).ConfigureAwait(false))?.Trim() != agentId)
                {
                    throw AgentScopeException.InvalidInput("not confirmed; nothing was changed");
                }
            }

            var destroyed = await ctx.Admin.RevokeAsync(agentId, ct).ConfigureAwait(false);
            if (ctx.GetValue(CliOptions.Json))
            {
                await ctx.WriteJsonAsync(new RevokeJson(agentId, destroyed), CliJson.Default.RevokeJson).ConfigureAwait(false);
            }
            else
            {
                await ctx.IO.Out.WriteLineAsync($"revoked {agentId}: {destroyed} entries destroyed").ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }
}

/// <summary><c>agentscope agent policy &lt;id&gt; get|set --file F</c>.</summary>
internal sealed class AgentPolicyCommand : Command
{
    public AgentPolicyCommand(CliIO io) : base("policy", "Show or replace an agent's label policy")
    {
        var id = new Argument<string>("id") { Description = "The agent id" };
        var get = new Command("get", "Print the policy as JSON");
        var file = new Option<string>("--file", "-f") { Description = "The policy JSON file ('-' for stdin)", Required = true };
        var set = new Command("set", "Replace the policy from a JSON file") { file };
        Arguments.Add(id);
        Subcommands.Add(get);
        Subcommands.Add(set);
        get.SetAction(io, async (ctx, ct) =>
        {
            var agent = await ctx.Admin.GetAgentAsync(ctx.GetValue(id), ct).ConfigureAwait(false);
            await ctx.WriteJsonAsync(agent.Policy, CliJson.Default.AgentPolicy).ConfigureAwait(false);
            return CliRunner.Ok;
        });
        set.SetAction(io, async (ctx, ct) =>
        {
            var policy = await ReadPolicyAsync(ctx, ctx.GetValue(file), ct).ConfigureAwait(false);
            await ctx.Admin.SetPolicyAsync(ctx.GetValue(id), policy, ct).ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync($"policy of '{ctx.GetValue(id)}' replaced ({policy.Rules.Count} rules)").ConfigureAwait(false);
            return CliRunner.Ok;
        });
    }

    public static async Task<AgentPolicy> ReadPolicyAsync(CliContext ctx, string file, CancellationToken ct)
    {
        string text;
        try
        {
            text = file == "-" ? await ctx.IO.In.ReadToEndAsync(ct).ConfigureAwait(false) : await File.ReadAllTextAsync(file, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AgentScopeException.InvalidInput($"cannot read {file}: {e.Message}");
        }

        try
        {
            var policy = JsonSerializer.Deserialize(text, RegistryJson.Default.AgentPolicy) ?? throw AgentScopeException.InvalidInput("the policy file is empty");
            policy.Validate();
            return policy;
        }
        catch (JsonException e)
        {
            throw AgentScopeException.InvalidInput($"the policy is not valid: {e.Message}");
        }
    }
}
