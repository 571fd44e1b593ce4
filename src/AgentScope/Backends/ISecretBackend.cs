namespace AgentScope.Backends;

/// <summary>
/// Storage only: put, get, delete and enumerate named values with their metadata in one service.
/// A backend knows nothing of policy, keys, audit or TOTP; the core decides, the backend stores.
/// Transient failures are retried inside the provider and then surface as <see cref="ErrorKind.BackendUnavailable"/>.
/// </summary>
public interface ISecretBackend
{
    /// <summary>What this backend can do.</summary>
    BackendCapabilities Capabilities { get; }

    /// <summary>Reads an entry, or null when it does not exist.</summary>
    ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default);

    /// <summary>Creates or overwrites an entry. Returns only once the write is durable in the service.</summary>
    ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Deletes an entry and every version of it. Returns false when there was nothing to delete.</summary>
    ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default);

    /// <summary>Enumerates the entries of one namespace (no values).</summary>
    IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default);

    /// <summary>Enumerates every entry AgentScope manages in this service, registry included (no values).</summary>
    IAsyncEnumerable<EntryMetadata> ListAllAsync(CancellationToken cancellationToken = default);

    /// <summary>Checks that the service is reachable and AgentScope's credentials work, for readiness probes.</summary>
    ValueTask CheckHealthAsync(CancellationToken cancellationToken = default);
}
