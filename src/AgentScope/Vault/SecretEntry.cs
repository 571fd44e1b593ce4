namespace AgentScope;

/// <summary>A secret read by its own agent.</summary>
/// <param name="Label">The label.</param>
/// <param name="Value">The value, redacted in <c>ToString</c>.</param>
/// <param name="Kind">Generic or TOTP.</param>
/// <param name="Version">Grows by one on each overwrite.</param>
/// <param name="CreatedAt">When version 1 was written.</param>
/// <param name="UpdatedAt">When this version was written.</param>
/// <param name="ExpiresAt">When it stops being readable.</param>
public sealed record SecretEntry(string Label, SecretValue Value, SecretKind Kind, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

/// <summary>A label's metadata, as listings show it: never the value.</summary>
/// <param name="Label">The label.</param>
/// <param name="Kind">Generic or TOTP.</param>
/// <param name="Version">Current version.</param>
/// <param name="CreatedAt">When version 1 was written.</param>
/// <param name="UpdatedAt">When the current version was written.</param>
/// <param name="ExpiresAt">When it stops being readable.</param>
public sealed record SecretInfo(string Label, SecretKind Kind, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

/// <summary>The outcome of a store.</summary>
/// <param name="Label">The label.</param>
/// <param name="Version">The version written.</param>
/// <param name="UpdatedAt">When.</param>
/// <param name="Created">True when the label did not exist before (version 1), false on overwrite.</param>
public sealed record StoreResult(string Label, long Version, DateTimeOffset UpdatedAt, bool Created);

/// <summary>Options of a store.</summary>
public sealed record StoreOptions
{
    /// <summary>Generic (default) or TOTP; a TOTP value must be a base32 seed or an <c>otpauth://totp/</c> URI.</summary>
    public SecretKind Kind { get; init; } = SecretKind.Generic;

    /// <summary>After this instant the entry reads as not found.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}
