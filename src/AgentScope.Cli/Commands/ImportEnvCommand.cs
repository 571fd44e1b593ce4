using System.CommandLine;
using AgentScope.Cli.ImportEnv;

namespace AgentScope.Cli.Commands;

/// <summary>
/// <c>agentscope import-env &lt;file&gt; --agent &lt;id&gt;</c>: moves the secrets of a <c>.env</c> file into an agent's vault,
/// verifies them, and with <c>--rewrite</c> leaves a file holding only the plain configuration and the agent's API key.
/// </summary>
internal sealed class ImportEnvCommand : Command
{
    public ImportEnvCommand(CliIO io) : base("import-env", "Move the secrets of a .env file into an agent's vault, verify them, and optionally rewrite the file without them")
    {
        Description +=
            "\n\nParses the file as the dotenv npm package does and classifies each variable as secret or configuration " +
            "(by name, by known credential formats, by entropy). Secrets are imported by default, as administrator on behalf of " +
            "the agent (every write is audited), then read back and compared byte for byte. Only when all match does --rewrite " +
            "replace the file (atomically, same permissions) with one that keeps the configuration and drops the imported " +
            "variables. Labels: STRIPE_API_KEY becomes stripe-api-key, A__B becomes a--b (IConfiguration key a:b). " +
            "Values are never printed. Any failure leaves the file untouched and lists what was stored; rerunning is safe.";
        Arguments.Add(File);
        Options.Add(Agent);
        Options.Add(CreateAgent);
        Options.Add(DryRun);
        Options.Add(All);
        Options.Add(Only);
        Options.Add(Map);
        Options.Add(Rewrite);
        Options.Add(Backup);
        Options.Add(CliOptions.Json);
        Validators.Add(result =>
        {
            if (result.GetValue(All) && result.GetValue(Only) is { Length: > 0 })
            {
                result.AddError("--all and --only cannot be combined");
            }

            if (result.GetValue(Backup) && !result.GetValue(Rewrite))
            {
                result.AddError("--backup only applies with --rewrite");
            }
        });
        this.SetAction(io, RunAsync);
    }

    public Argument<string> File { get; } = new("file") { Description = "The .env file" };

    public Option<string> Agent { get; } = new("--agent") { Description = "The agent whose vault receives the secrets", Required = true, HelpName = "id" };

    public Option<bool> CreateAgent { get; } = new("--create-agent")
    {
        Description = "Create the agent if it does not exist; its API key goes into the rewritten file (with --rewrite), or is " +
            "printed once if there is no rewrite or the import fails. An agent that already exists is used as is: no new key, " +
            "and the file keeps whatever AGENTSCOPE_API_KEY line it has",
    };

    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Show what would happen; change nothing anywhere (no agent, no vault, no file)" };

    public Option<bool> All { get; } = new("--all") { Description = "Import every non-empty variable, configuration too" };

    public Option<string[]> Only { get; } = new("--only")
    {
        Description = "Import exactly these variables (comma-separated, or repeat the option), whatever their classification",
        HelpName = "NAME,...",
    };

    public Option<string[]> Map { get; } = new("--map")
    {
        Description = "Store NAME under this label instead of the default (repeatable): --map STRIPE_API_KEY=stripe",
        HelpName = "NAME=label",
    };

    public Option<bool> Rewrite { get; } = new("--rewrite")
    {
        Description = "After a verified import, replace the file: imported variables removed, configuration kept, AGENTSCOPE_API_KEY " +
            "added for a new agent",
    };

    public Option<bool> Backup { get; } = new("--backup") { Description = "With --rewrite, keep the original as <file>.bak (owner-only; it holds the secrets)" };

    private async Task<int> RunAsync(CliContext ctx, CancellationToken ct)
    {
        var request = new ImportRequest
        {
            File = ctx.GetValue(File),
            AgentId = ctx.GetValue(Agent),
            Selection = new ImportSelection
            {
                All = ctx.GetValue(All),
                Only = (ctx.ParseResult.GetValue(Only) ?? []).SelectMany(o => o.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList(),
                Maps = ctx.ParseResult.GetValue(Map) ?? [],
            },
            CreateAgent = ctx.GetValue(CreateAgent),
            DryRun = ctx.GetValue(DryRun),
            Rewrite = ctx.GetValue(Rewrite),
            Backup = ctx.GetValue(Backup),
        };

        var result = await new EnvImporter(ctx.Admin).RunAsync(request, ct).ConfigureAwait(false);
        var err = ctx.IO.Error;
        foreach (var warning in result.Warnings)
        {
            await err.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
        }

        if (ctx.GetValue(CliOptions.Json))
        {
            await ctx.WriteJsonAsync(ImportReport.ToJson(result), CliJson.Default.ImportEnvJson).ConfigureAwait(false);
        }
        else
        {
            await ImportReport.WriteTableAsync(result, ctx.IO.Out).ConfigureAwait(false);
        }

        if (result.Error is { } error)
        {
            await err.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
        }

        await err.WriteLineAsync(ImportReport.Summary(result)).ConfigureAwait(false);
        if (result.ApiKey is { } key)
        {
            var where = ctx.GetValue(CliOptions.Json) ? "is in the JSON (apiKey)" : "follows";
            await err.WriteLineAsync($"Created agent '{result.AgentId}'. Its API key {where}; it is shown only once" +
                (request.Rewrite ? $". The file does not hold it: add {ImportPlan.ApiKeyVariable}=<key> to it yourself (a rerun keeps that line)" : "")).ConfigureAwait(false);
            if (!ctx.GetValue(CliOptions.Json))
            {
                // Like 'agent create': the key alone on the last line of stdout.
                await ctx.IO.Out.WriteLineAsync(key).ConfigureAwait(false);
            }
        }

        return result.ExitCode;
    }
}
