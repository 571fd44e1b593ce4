using System.CommandLine;

namespace AgentScope.Cli.Commands;

/// <summary><c>agentscope sweep [--dry-run]</c>: finishes interrupted revokes and deletes orphaned entries.</summary>
internal sealed class SweepCommand : Command
{
    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Report what would be deleted, change nothing" };

    public SweepCommand(CliIO io) : base("sweep", "Finish interrupted revokes and delete entries whose agent is not active")
    {
        Options.Add(DryRun);
        Options.Add(CliOptions.Json);
        this.SetAction(io, async (ctx, ct) =>
        {
            var report = await ctx.Admin.SweepAsync(ctx.GetValue(DryRun), ct).ConfigureAwait(false);
            if (ctx.GetValue(CliOptions.Json))
            {
                await ctx.WriteJsonAsync(report, CliJson.Default.SweepReport).ConfigureAwait(false);
            }
            else
            {
                var verb = report.DryRun ? "would delete" : "deleted";
                await ctx.IO.Out.WriteLineAsync(
                    $"{report.OrphansFound} orphaned entries found, {verb} {(report.DryRun ? report.OrphansFound : report.Deleted)}; " +
                    $"{report.RevokesFinished.Count} interrupted revokes {(report.DryRun ? "to finish" : "finished")}" +
                    (report.RevokesFinished.Count > 0 ? ": " + string.Join(", ", report.RevokesFinished) : "")).ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
    }
}
