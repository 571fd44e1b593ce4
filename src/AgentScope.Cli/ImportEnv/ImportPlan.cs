using AgentScope.DotEnv;

namespace AgentScope.Cli.ImportEnv;

/// <summary>What happens to one variable of the file. Never holds the value where it could be printed: <see cref="Value"/> is a <see cref="SecretValue"/>.</summary>
internal sealed class PlannedVariable
{
    public required string Name { get; init; }
    public required int Line { get; init; }
    public required SecretValue Value { get; init; }
    public required DotEnvClassification Classification { get; init; }

    /// <summary>True when the value goes into the vault (and, with <c>--rewrite</c>, out of the file).</summary>
    public required bool Import { get; init; }

    /// <summary>Why it is imported or kept, when that is not simply its classification (<c>--all</c>, <c>--only</c>, reserved, empty).</summary>
    public string? Selection { get; init; }

    /// <summary>The label, for imported variables.</summary>
    public string? Label { get; init; }

    public ImportStatus Status { get; set; }

    /// <summary>How an agent's code reads it now: the REST path.</summary>
    public string? RestPath => Label is null ? null : "GET /v0/vault/" + Label;

    /// <summary>How an agent's code reads it now: the key in <c>IConfiguration</c> (the configuration provider maps <c>--</c> in a label to <c>:</c>).</summary>
    public string? ConfigurationKey => Label is null ? null : ImportPlan.ConfigurationKeyOf(Label);

    public override string ToString() => $"{Name} (line {Line})";
}

internal enum ImportStatus
{
    /// <summary>Dry run: would be imported.</summary>
    Planned,
    /// <summary>Written: the label did not exist.</summary>
    Stored,
    /// <summary>Written over a different value already at the label.</summary>
    Updated,
    /// <summary>The label already held exactly this value (a rerun): not written again.</summary>
    Unchanged,
    /// <summary>The write or its read-back failed.</summary>
    Failed,
    /// <summary>Not reached because an earlier variable failed.</summary>
    NotAttempted,
    /// <summary>Stays in the file.</summary>
    Kept,
}

/// <summary>Which variables to import (<c>--all</c>, <c>--only</c>, or the secrets), under which labels (<c>--map</c>).</summary>
internal sealed record ImportSelection
{
    public bool All { get; init; }
    public IReadOnlyList<string> Only { get; init; } = [];
    public IReadOnlyList<string> Maps { get; init; } = [];
}

/// <summary>
/// Classification, selection and labels for every variable of a file, checked as a whole before anything is written:
/// every problem (unknown names, invalid or colliding labels) is reported together.
/// </summary>
internal sealed class ImportPlan
{
    /// <summary>Names under this prefix are AgentScope's own (its API key above all): never imported, never removed.</summary>
    public const string ReservedPrefix = "AGENTSCOPE_";

    public const string ApiKeyVariable = "AGENTSCOPE_API_KEY";

    private ImportPlan(IReadOnlyList<PlannedVariable> variables, IReadOnlyList<string> warnings)
    {
        Variables = variables;
        Warnings = warnings;
    }

    public IReadOnlyList<PlannedVariable> Variables { get; }

    public IReadOnlyList<string> Warnings { get; }

    public IEnumerable<PlannedVariable> Imported => Variables.Where(v => v.Import);

    /// <summary>
    /// The default label of a variable name: lower case, <c>__</c> to <c>--</c> (which the configuration provider reads as
    /// <c>:</c>, the .NET convention for sections), <c>_</c> to <c>-</c>, leading <c>-</c>/<c>.</c> dropped.
    /// <c>STRIPE_API_KEY</c> → <c>stripe-api-key</c>; <c>ConnectionStrings__Default</c> → <c>connectionstrings--default</c>.
    /// Null when that is not a valid label (then <c>--map</c> must name one).
    /// </summary>
    public static string? DefaultLabel(string name)
    {
        var label = name.ToLowerInvariant().Replace("__", "--", StringComparison.Ordinal).Replace('_', '-').TrimStart('-', '.');
        return Names.IsValidLabel(label) ? label : null;
    }

    /// <summary>The <c>IConfiguration</c> key of a label: <c>--</c> becomes the section separator <c>:</c>.</summary>
    public static string ConfigurationKeyOf(string label) => label.Replace("--", ":", StringComparison.Ordinal);

    public static bool IsReserved(string name) => name.StartsWith(ReservedPrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>Builds the plan, or throws one invalid-input error listing every problem.</summary>
    public static ImportPlan Create(IReadOnlyList<DotEnvEntry> entries, ImportSelection selection)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(selection);
        var problems = new List<string>();
        var warnings = new List<string>();
        var byName = entries.ToDictionary(e => e.Key, StringComparer.Ordinal);

        var only = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in selection.Only)
        {
            if (!byName.TryGetValue(name, out var entry))
            {
                problems.Add($"--only names {Names.Describe(name)}, which the file does not define");
            }
            else if (IsReserved(name))
            {
                problems.Add($"--only names {name}: {ReservedPrefix}* variables are AgentScope's own and are never imported");
            }
            else if (entry.Value.Reveal().Length == 0)
            {
                problems.Add($"--only names {name}, whose value is empty: there is nothing to import");
            }
            else
            {
                only.Add(name);
            }
        }

        var maps = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var map in selection.Maps)
        {
            var eq = map.IndexOf('=', StringComparison.Ordinal);
            var (name, label) = eq < 0 ? (map, "") : (map[..eq].Trim(), map[(eq + 1)..].Trim());
            if (eq <= 0 || label.Length == 0)
            {
                problems.Add($"--map {Names.Describe(map)} is not NAME=label");
            }
            else if (!byName.ContainsKey(name))
            {
                problems.Add($"--map names {Names.Describe(name)}, which the file does not define");
            }
            else if (!Names.IsValidLabel(label))
            {
                problems.Add($"--map {name}={Names.Describe(label)}: not a valid label (1-{Names.MaxLabelLength} letters, digits, '.', '_' or '-', starting with a letter or digit)");
            }
            else if (!maps.TryAdd(name, label))
            {
                problems.Add($"--map names {name} twice");
            }
        }

        var variables = new List<PlannedVariable>();
        foreach (var entry in entries)
        {
            var classification = DotEnvClassifier.Classify(entry);
            var empty = entry.Value.Reveal().Length == 0;
            bool import;
            string? why = null;
            if (IsReserved(entry.Key))
            {
                (import, why) = (false, "AgentScope's own setting: stays in the file");
            }
            else if (empty)
            {
                (import, why) = (false, "empty: nothing to import");
            }
            else if (selection.Only.Count > 0)
            {
                import = only.Contains(entry.Key);
                why = import ? "named by --only" : "not named by --only";
            }
            else if (selection.All)
            {
                (import, why) = (true, classification.IsSecret ? null : "--all");
            }
            else
            {
                import = classification.IsSecret;
            }

            string? label = null;
            if (import)
            {
                label = maps.TryGetValue(entry.Key, out var mapped) ? mapped : DefaultLabel(entry.Key);
                if (label is null)
                {
                    problems.Add($"{entry.Key} has no valid default label: name one with --map {entry.Key}=<label>");
                }
            }
            else if (maps.ContainsKey(entry.Key))
            {
                warnings.Add($"--map {entry.Key} has no effect: {entry.Key} is not imported ({why ?? classification.Reason})");
            }

            variables.Add(new PlannedVariable
            {
                Name = entry.Key,
                Line = entry.Line,
                Value = entry.Value,
                Classification = classification,
                Import = import,
                Selection = why,
                Label = label,
                Status = import ? ImportStatus.Planned : ImportStatus.Kept,
            });
        }

        // IConfiguration keys are case-insensitive, so labels that differ only in case would shadow each other there.
        foreach (var group in variables.Where(v => v.Label is not null).GroupBy(v => v.Label!, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add($"{string.Join(", ", group.Select(v => v.Name))} would all be stored as '{group.Key}': give all but one another label with --map NAME=label");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput(string.Join("; ", problems) + " (nothing was changed)");
        }

        return new ImportPlan(variables, warnings);
    }
}
