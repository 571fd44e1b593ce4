namespace AgentScope.Client;

/// <summary>A value read from the server.</summary>
/// <param name="Label">The label.</param>
/// <param name="Value">The value, redacted in <c>ToString</c>.</param>
/// <param name="Version">Grows by one on each overwrite.</param>
/// <param name="UpdatedAt">When this version was written.</param>
public sealed record VaultSecret(string Label, SecretValue Value, long Version, DateTimeOffset UpdatedAt)
{
    /// <summary><c>generic</c> or <c>totp</c>.</summary>
    public string Kind { get; init; } = "generic";

    /// <summary>When it stops being readable, if it expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>A label as listings show it: never the value.</summary>
/// <param name="Label">The label.</param>
/// <param name="Kind"><c>generic</c> or <c>totp</c>.</param>
/// <param name="Version">Current version.</param>
/// <param name="UpdatedAt">When the current version was written.</param>
public sealed record VaultLabel(string Label, string Kind, long Version, DateTimeOffset UpdatedAt)
{
    /// <summary>When it stops being readable, if it expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>The outcome of a batch read: values for the labels that could be read, a typed error for each of the others.</summary>
/// <param name="Values">The values read.</param>
/// <param name="Errors">Per label, why it could not be read (not found, denied, ...).</param>
public sealed record BatchGetResult(IReadOnlyList<VaultSecret> Values, IReadOnlyDictionary<string, AgentScopeException> Errors);
