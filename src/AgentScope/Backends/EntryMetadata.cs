namespace AgentScope.Backends;

/// <summary>What a backend keeps beside a value, and returns when it enumerates; never the value.</summary>
/// <param name="Key">The logical coordinate.</param>
/// <param name="Kind">What the entry holds.</param>
/// <param name="Version">Starts at 1 and grows by one on each overwrite.</param>
/// <param name="CreatedAt">When version 1 was written.</param>
/// <param name="UpdatedAt">When this version was written.</param>
/// <param name="ExpiresAt">After this instant the entry reads as not found.</param>
/// <param name="Encrypted">True when the value is AgentScope ciphertext under the owner's data key.</param>
public sealed record EntryMetadata(
    EntryKey Key,
    SecretKind Kind,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? ExpiresAt,
    bool Encrypted);
