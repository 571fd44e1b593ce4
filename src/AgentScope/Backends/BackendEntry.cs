namespace AgentScope.Backends;

/// <summary>A value as the backend stores it (plaintext UTF-8, or ciphertext when <see cref="EntryMetadata.Encrypted"/>), with its metadata.</summary>
/// <param name="Metadata">The entry's metadata.</param>
/// <param name="Value">The stored bytes.</param>
public sealed record BackendEntry(EntryMetadata Metadata, byte[] Value)
{
    /// <summary>Never shows the value.</summary>
    public override string ToString() => $"BackendEntry {{ {Metadata.Key}, v{Metadata.Version}, {Value.Length} bytes }}";
}
