
namespace AgentScope.Cli.ImportEnv;

/// <summary>The <c>--json</c> report. It has no field for a value; the only credential it can carry is a new agent's API key, once.</summary>
/// <param name="File">The file as given.</param>
/// <param name="Agent">The agent id.</param>
/// <param name="DryRun">True when nothing was changed.</param>
/// <param name="AgentCreated">True when this run created the agent.</param>
/// <param name="ApiKey">The new agent's API key, when it was not written into the rewritten file (shown only here, once).</param>
/// <param name="Verified">True when every imported value was read back and matched.</param>
/// <param name="Rewrite">not-requested, would-rewrite, rewritten or not-done.</param>
/// <param name="Backup">The backup written with <c>--backup</c>.</param>
/// <param name="Stored">Names of the variables whose values are in the vault now.</param>
/// <param name="Variables">Every variable of the file.</param>
/// <param name="Warnings">Warnings (git, ignored options, an existing agent).</param>
/// <param name="Error">Why the import stopped, if it did.</param>
internal sealed record ImportEnvJson(string File, string Agent, bool DryRun, bool AgentCreated, string? ApiKey, bool Verified, string Rewrite,
    string? Backup, IReadOnlyList<string> Stored, IReadOnlyList<ImportEnvVariableJson> Variables, IReadOnlyList<string> Warnings, ImportEnvErrorJson? Error);

/// <summary>One variable: never its value.</summary>
internal sealed record ImportEnvVariableJson(string Name, int Line, string Classification, string Signal, string Reason, string? Selection,
    bool Import, string Status, string? Label, string? Rest, string? ConfigurationKey);

internal sealed record ImportEnvErrorJson(string Code, string Message);

/// <summary>Renders an <see cref="ImportResult"/> as a table or as JSON.</summary>
internal static class ImportReport
{
    public static ImportEnvJson ToJson(ImportResult r) => new(
        r.File, r.AgentId, r.DryRun, r.AgentCreated, r.ApiKey, r.Verified, Kebab(r.Rewrite.ToString()), r.BackupPath,
        r.Stored.Select(v => v.Name).ToList(),
        r.Variables.Select(v => new ImportEnvVariableJson(v.Name, v.Line, v.Classification.IsSecret ? "secret" : "config",
            Kebab(v.Classification.Signal.ToString()), v.Classification.Reason, v.Selection, v.Import, Kebab(v.Status.ToString()), v.Label,
            v.RestPath, v.ConfigurationKey)).ToList(),
        r.Warnings,
        r.Error is { } e ? new ImportEnvErrorJson(e.Code, e.Message) : null);

    /// <summary>The table, for stdout.</summary>
    public static async Task WriteTableAsync(ImportResult r, TextWriter o)
    {
        if (r.Variables.Count == 0)
        {
            if (r.Error is null)
            {
                await o.WriteLineAsync($"{r.File}: no variables").ConfigureAwait(false);
            }

            return;
        }

        var nameWidth = Math.Clamp(r.Variables.Max(v => v.Name.Length), 8, 40);
        var labelWidth = Math.Clamp(r.Variables.Max(v => v.Label?.Length ?? 1), 5, 40);
        await o.WriteLineAsync($"{"VARIABLE".PadRight(nameWidth)}  {"LINE",4}  {"CLASS",-6}  {"STATUS",-13}  {"LABEL".PadRight(labelWidth)}  REASON").ConfigureAwait(false);
        foreach (var v in r.Variables)
        {
            var reason = v.Selection is { } s ? $"{v.Classification.Reason}; {s}" : v.Classification.Reason;
            await o.WriteLineAsync(
                $"{v.Name.PadRight(nameWidth)}  {v.Line,4}  {(v.Classification.IsSecret ? "secret" : "config"),-6}  {StatusText(v.Status, r.DryRun),-13}  {(v.Label ?? "-").PadRight(labelWidth)}  {reason}")
                .ConfigureAwait(false);
        }

        var imported = r.Variables.Where(v => v.Import).ToList();
        if (imported.Count > 0)
        {
            await o.WriteLineAsync().ConfigureAwait(false);
            await o.WriteLineAsync($"How code reads them now, as agent '{r.AgentId}' (with its AGENTSCOPE_API_KEY):").ConfigureAwait(false);
            foreach (var v in imported)
            {
                await o.WriteLineAsync($"  {v.Name.PadRight(nameWidth)}  {v.RestPath!.PadRight(labelWidth + 15)}  IConfiguration[\"{v.ConfigurationKey}\"]").ConfigureAwait(false);
            }
        }
    }

    /// <summary>One or two sentences for stderr: what happened to the vault and to the file.</summary>
    public static string Summary(ImportResult r)
    {
        var imported = r.Variables.Count(v => v.Import);
        var kept = r.Variables.Count - imported;
        if (r.DryRun)
        {
            return $"dry run: would import {imported} of {r.Variables.Count} variables into agent '{r.AgentId}'" +
                (r.Rewrite == RewriteOutcome.WouldRewrite ? $" and rewrite {r.File} keeping {kept}" : "") + "; nothing was changed";
        }

        var stored = r.Stored.ToList();
        if (r.Error is not null)
        {
            return stored.Count == 0
                ? $"nothing was stored; {r.File} is unchanged"
                : $"stored before the failure: {string.Join(", ", stored.Select(v => v.Name))}; {r.File} is unchanged. Rerunning is safe: values already stored are not written again";
        }

        var unchanged = stored.Count(v => v.Status == ImportStatus.Unchanged);
        var text = $"imported {imported} variables into agent '{r.AgentId}'" + (unchanged > 0 ? $" ({unchanged} already there)" : "") + " and verified every value";
        return r.Rewrite switch
        {
            RewriteOutcome.Rewritten => text + $"; {r.File} rewritten: {kept} variables kept, {imported} removed" +
                (r.AgentCreated ? ", AGENTSCOPE_API_KEY added" : "") + (r.BackupPath is { } b ? $"; the original (with its secrets) is in {b}: delete it once you are done" : "; no backup was kept"),
            _ => text + $"; {r.File} is unchanged (pass --rewrite to remove the imported secrets from it)",
        };
    }

    private static string StatusText(ImportStatus s, bool dryRun) => s switch
    {
        ImportStatus.Planned => dryRun ? "would import" : "planned",
        ImportStatus.NotAttempted => "not attempted",
        _ => s.ToString().ToLowerInvariant(),
    };

    private static string Kebab(string pascal) => string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
