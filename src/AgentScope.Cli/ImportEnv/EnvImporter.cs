using System.Text;
using AgentScope.DotEnv;

namespace AgentScope.Cli.ImportEnv;

/// <summary>What to import, from where, into which agent.</summary>
internal sealed record ImportRequest
{
    public required string File { get; init; }
    public required string AgentId { get; init; }
    public ImportSelection Selection { get; init; } = new();

    /// <summary>Create the agent when it does not exist; an existing active agent is used as is (no new key).</summary>
    public bool CreateAgent { get; init; }

    public bool DryRun { get; init; }
    public bool Rewrite { get; init; }
    public bool Backup { get; init; }

    /// <summary>Look for the file in git (tracked, not ignored). Off in tests that run outside any repository on purpose.</summary>
    public bool CheckGit { get; init; } = true;
}

internal enum RewriteOutcome
{
    NotRequested,
    /// <summary>Dry run: the rewrite was computed and checked, and would be done.</summary>
    WouldRewrite,
    Rewritten,
    /// <summary>Requested, but an earlier step failed (or the rewrite itself did): the file is untouched.</summary>
    NotDone,
}

/// <summary>The outcome of an import, complete enough to report after a failure: what was stored, what was not, why.</summary>
internal sealed class ImportResult
{
    public required string File { get; init; }
    public required string AgentId { get; init; }
    public bool DryRun { get; init; }
    public IReadOnlyList<PlannedVariable> Variables { get; set; } = [];
    public List<string> Warnings { get; } = [];
    public bool AgentCreated { get; set; }

    /// <summary>The new agent's API key, when it was created and did not go into the rewritten file: shown once.</summary>
    public string? ApiKey { get; set; }

    public bool Verified { get; set; }
    public RewriteOutcome Rewrite { get; set; }
    public string? BackupPath { get; set; }
    public ImportError? Error { get; set; }

    /// <summary>Imported variables whose values are now in the vault (this run or an earlier one).</summary>
    public IEnumerable<PlannedVariable> Stored => Variables.Where(v => v.Status is ImportStatus.Stored or ImportStatus.Updated or ImportStatus.Unchanged);

    public int ExitCode => Error?.ExitCode ?? CliRunner.Ok;
}

/// <summary>Why an import stopped: a stable code, a message that names variables and labels (never values), the exit code.</summary>
internal sealed record ImportError(string Code, string Message, int ExitCode);

/// <summary>
/// <c>import-env</c>: parse, classify and plan; then, as administrator on behalf of the agent (so every write is audited),
/// store each selected value, read every one back and compare it byte for byte; only when all match, replace the file
/// (atomically, permissions kept) with one that holds the plain configuration and, for a new agent, its API key.
/// Any failure stops there and leaves the file as it was; the result says what was stored, so a rerun is safe: values
/// already in place are recognised and not written again.
/// </summary>
internal sealed class EnvImporter
{
    // Imported values looked for elsewhere in the file: secrets of at least 8 characters ("true" or "8080" are everywhere),
    // and anything of at least 16 (a secret the classifier missed, imported with --only), but not "production" found in a
    // "# production settings" comment after an --all import.
    private const int LeftoverSecretMinLength = 8;
    private const int LeftoverAnyMinLength = 16;

    private readonly AgentAdmin _admin;

    public EnvImporter(AgentAdmin admin) => _admin = admin;

    public async Task<ImportResult> RunAsync(ImportRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = new ImportResult { File = request.File, AgentId = request.AgentId, DryRun = request.DryRun };
        try
        {
            await RunAsync(request, result, ct).ConfigureAwait(false);
        }
        catch (AgentScopeException e)
        {
            result.Error = new ImportError(e.Code, e.Message, ErrorCodes.ExitCode(e.Kind));
        }
        catch (OperationCanceledException)
        {
            result.Error = new ImportError("cancelled", "cancelled", 130);
        }
        catch (Exception e)
        {
            // The type only: framework messages can quote input, and input may be a value.
            result.Error = new ImportError("error", $"unexpected {e.GetType().Name}", CliRunner.Unexpected);
        }

        if (result.Error is not null)
        {
            foreach (var v in result.Variables.Where(v => v.Status == ImportStatus.Planned && !request.DryRun))
            {
                v.Status = ImportStatus.NotAttempted;
            }

            if (request.Rewrite && result.Rewrite != RewriteOutcome.Rewritten)
            {
                result.Rewrite = RewriteOutcome.NotDone;
            }
        }

        return result;
    }

    private async Task RunAsync(ImportRequest request, ImportResult result, CancellationToken ct)
    {
        var agentId = Names.ValidateAgentId(request.AgentId);
        var file = await EnvFile.ReadAsync(request.File, ct).ConfigureAwait(false);
        if (request.CheckGit)
        {
            result.Warnings.AddRange(await GitCheck.WarningsAsync(file.Target, ct).ConfigureAwait(false));
        }

        var plan = ImportPlan.Create(DotEnvParser.Parse(file.Text), request.Selection);
        result.Variables = plan.Variables;
        result.Warnings.AddRange(plan.Warnings);

        // Everything that could stop the rewrite is checked now, before the first write, with a stand-in for a new key.
        if (request.Rewrite)
        {
            PrepareRewrite(file, plan, agentId, request.CreateAgent ? "ask_placeholder" : null);
        }

        var existing = await FindAgentAsync(agentId, ct).ConfigureAwait(false);
        if (request.DryRun)
        {
            if (existing is not { Status: AgentStatus.Active } && !request.CreateAgent)
            {
                throw existing is null
                    ? AgentScopeException.NotFound($"no agent '{agentId}': pass --create-agent to create it (dry run: nothing was changed)")
                    : new AgentScopeException(ErrorKind.AgentRevoked, $"agent '{agentId}' is {existing.Status.ToString().ToLowerInvariant()} (dry run: nothing was changed)");
            }

            result.Rewrite = request.Rewrite ? RewriteOutcome.WouldRewrite : RewriteOutcome.NotRequested;
            return;
        }

        string? apiKey = null;
        if (existing is not { Status: AgentStatus.Active })
        {
            if (!request.CreateAgent)
            {
                throw existing is null
                    ? AgentScopeException.NotFound($"no agent '{agentId}': pass --create-agent to create it (nothing was changed)")
                    : new AgentScopeException(ErrorKind.AgentRevoked, $"agent '{agentId}' is {existing.Status.ToString().ToLowerInvariant()} (nothing was changed)");
            }

            var created = await _admin.CreateAgentAsync(agentId, cancellationToken: ct).ConfigureAwait(false);
            (apiKey, result.ApiKey, result.AgentCreated) = (created.ApiKey, created.ApiKey, true);
        }
        else if (request.CreateAgent)
        {
            result.Warnings.Add($"agent '{agentId}' already exists: importing into it; no new API key was issued" +
                (request.Rewrite ? $", so the rewritten file gets no {ImportPlan.ApiKeyVariable} line (see 'agentscope agent rotate-key')" : ""));
        }

        var vault = (await _admin.OpenVaultAsync(agentId, ct).ConfigureAwait(false))
            .WithContext(new AccessContext { Surface = "cli", Justification = "agentscope import-env" });
        var toImport = plan.Imported.ToList();
        await PreflightAsync(vault, toImport, ct).ConfigureAwait(false);
        await StoreAsync(vault, toImport, ct).ConfigureAwait(false);
        await VerifyAsync(vault, toImport, ct).ConfigureAwait(false);
        result.Verified = true;

        if (!request.Rewrite)
        {
            result.Rewrite = RewriteOutcome.NotRequested;
            return;
        }

        var text = PrepareRewrite(file, plan, agentId, apiKey);
        if (!await file.IsUnchangedAsync(ct).ConfigureAwait(false))
        {
            throw AgentScopeException.InvalidInput($"{request.File} changed during the import, so it was not rewritten; rerun to rewrite it (the values are stored)");
        }

        try
        {
            // Nothing imported and no key to add: the file already is what a rewrite would make of it.
            if (!string.Equals(text, file.Text, StringComparison.Ordinal))
            {
                if (request.Backup)
                {
                    result.BackupPath = file.WriteBackup();
                }

                file.Replace(text);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentScopeException(ErrorKind.InvalidInput, $"cannot replace {request.File}: {e.Message}; it is unchanged (the values are stored)");
        }

        result.Rewrite = RewriteOutcome.Rewritten;
        result.ApiKey = null; // it is in the file now, and only there
    }

    private async Task<AgentInfo?> FindAgentAsync(string agentId, CancellationToken ct)
    {
        try
        {
            return await _admin.GetAgentAsync(agentId, ct).ConfigureAwait(false);
        }
        catch (AgentScopeException e) when (e.Kind == ErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Labels already in the vault: a TOTP entry there is a conflict (found before anything is written); an equal value is
    /// left alone, which makes a rerun after a partial import write only what is missing.
    /// </summary>
    private static async Task PreflightAsync(AgentVault vault, List<PlannedVariable> toImport, CancellationToken ct)
    {
        var existing = (await vault.ListAsync(ct).ConfigureAwait(false)).ToDictionary(s => s.Label, StringComparer.Ordinal);
        var conflicts = toImport.Where(v => existing.TryGetValue(v.Label!, out var s) && s.Kind == SecretKind.Totp).ToList();
        if (conflicts.Count > 0)
        {
            throw new AgentScopeException(ErrorKind.Conflict, string.Join("; ", conflicts.Select(v =>
                $"label '{v.Label}' of {v.Name} already holds a TOTP entry of agent '{vault.AgentId}'")) +
                ": choose other labels with --map NAME=label (nothing was changed)");
        }

        foreach (var v in toImport.Where(v => existing.ContainsKey(v.Label!)))
        {
            try
            {
                var current = await vault.GetAsync(v.Label!, ct).ConfigureAwait(false);
                if (current.Value.Equals(v.Value))
                {
                    v.Status = ImportStatus.Unchanged;
                }
            }
            catch (AgentScopeException e) when (e.Kind == ErrorKind.NotFound)
            {
                // expired since the listing: it is written like a new one
            }
        }
    }

    private static async Task StoreAsync(AgentVault vault, List<PlannedVariable> toImport, CancellationToken ct)
    {
        foreach (var v in toImport.Where(v => v.Status == ImportStatus.Planned))
        {
            try
            {
                var stored = await vault.StoreAsync(v.Label!, v.Value, cancellationToken: ct).ConfigureAwait(false);
                v.Status = stored.Created ? ImportStatus.Stored : ImportStatus.Updated;
            }
            catch (AgentScopeException e)
            {
                v.Status = ImportStatus.Failed;
                throw new AgentScopeException(e.Kind, $"storing {v.Name} as '{v.Label}' failed: {e.Message}") { RetryAfter = e.RetryAfter };
            }
        }
    }

    private static async Task VerifyAsync(AgentVault vault, List<PlannedVariable> toImport, CancellationToken ct)
    {
        foreach (var v in toImport)
        {
            SecretEntry back;
            try
            {
                back = await vault.GetAsync(v.Label!, ct).ConfigureAwait(false);
            }
            catch (AgentScopeException e)
            {
                v.Status = ImportStatus.Failed;
                throw new AgentScopeException(e.Kind, $"reading {v.Name} back from '{v.Label}' failed: {e.Message}") { RetryAfter = e.RetryAfter };
            }

            // SecretValue equality compares the UTF-8 bytes, in constant time.
            if (!back.Value.Equals(v.Value))
            {
                v.Status = ImportStatus.Failed;
                throw AgentScopeException.Unavailable($"{v.Name} read back from '{v.Label}' differs from the file's value; the file was not changed");
            }
        }
    }

    /// <summary>
    /// The new text of the file, checked: it must parse to exactly the kept variables (plus the new key), and hold no
    /// leftover copy of an imported value (in a comment, in another variable). Throws, before anything is written, if not.
    /// </summary>
    private static string PrepareRewrite(EnvFile file, ImportPlan plan, string agentId, string? apiKey)
    {
        if (!file.IsValidUtf8)
        {
            throw AgentScopeException.InvalidInput($"{file.Path} is not valid UTF-8, so it cannot be rewritten faithfully: fix its encoding or import without --rewrite (nothing was changed)");
        }

        var imported = plan.Imported.ToList();
        var remove = imported.ToDictionary(v => v.Name, v => (string?)$"# {v.Name} moved to AgentScope: agent {agentId}, label {v.Label}", StringComparer.Ordinal);
        var append = new List<string>();
        var added = new Dictionary<string, string>(StringComparer.Ordinal);
        if (apiKey is not null)
        {
            // A new agent replaces whatever key the file held.
            remove[ImportPlan.ApiKeyVariable] = null;
            append.Add($"# AgentScope: the API key of agent {agentId}, its only credential. Keep this file out of git.");
            append.Add($"{ImportPlan.ApiKeyVariable}={apiKey}");
            added[ImportPlan.ApiKeyVariable] = apiKey;
        }

        var text = DotEnvRewriter.Rewrite(file.Text, remove, append);
        if (DotEnvRewriter.CheckRewrite(file.Text, text, remove.Keys.ToHashSet(StringComparer.Ordinal), added) is { } problem)
        {
            throw AgentScopeException.InvalidInput($"cannot rewrite {file.Path} faithfully: {problem} once the imported lines are gone; edit the file so each variable stands on its own lines (nothing was changed)");
        }

        foreach (var v in imported)
        {
            var value = v.Value.Reveal();
            var check = value.Length >= (v.Classification.IsSecret ? LeftoverSecretMinLength : LeftoverAnyMinLength);
            if (check && DotEnvParser.Normalize(text).Contains(value, StringComparison.Ordinal))
            {
                throw AgentScopeException.InvalidInput(
                    $"the value of {v.Name} also appears elsewhere in {file.Path} (line {LineOfLeftover(file.Text, value, v)}: a comment, or another variable " +
                    "that embeds it): remove that copy, or import that variable too, then rerun (nothing was changed)");
            }
        }

        return text;
    }

    private static int LineOfLeftover(string text, string value, PlannedVariable v)
    {
        var normalized = DotEnvParser.Normalize(text);
        var definitions = DotEnvParser.ParseDefinitions(text).Where(d => d.Key == v.Name).ToList();
        for (var i = normalized.IndexOf(value, StringComparison.Ordinal); i >= 0; i = normalized.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            var line = 1 + normalized.AsSpan(0, i).Count('\n');
            if (!definitions.Any(d => line >= d.Line && line <= d.EndLine))
            {
                return line;
            }
        }

        return 0;
    }
}
