using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace AgentScope.Backends;

/// <summary>A process-local backend for tests and experiments. Everything is lost when the process ends.</summary>
public sealed class InMemorySecretBackend : ISecretBackend
{
    private readonly ConcurrentDictionary<EntryKey, BackendEntry> _entries = new();

    /// <inheritdoc />
    public BackendCapabilities Capabilities { get; } = new()
    {
        Name = "InMemory",
        MaxValueBytes = 1 << 20,
        ServerSideFiltering = true,
    };

    /// <summary>How many entries are stored, registry included.</summary>
    public int Count => _entries.Count;

    /// <inheritdoc />
    public ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_entries.TryGetValue(key, out var e) ? e with { Value = (byte[])e.Value.Clone() } : null);
    }

    /// <inheritdoc />
    public ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        cancellationToken.ThrowIfCancellationRequested();
        if (entry.Value.Length > Capabilities.MaxValueBytes)
        {
            throw new AgentScopeException(ErrorKind.ValueTooLarge, $"value of {entry.Metadata.Key.Label} exceeds {Capabilities.MaxValueBytes} bytes");
        }

        _entries[entry.Metadata.Key] = entry with { Value = (byte[])entry.Value.Clone() };
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_entries.TryRemove(key, out _));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EntryMetadata> ListAsync(string ns, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        foreach (var e in _entries.Values.Where(e => e.Metadata.Key.Namespace == ns).OrderBy(e => e.Metadata.Key.Label, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return e.Metadata;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EntryMetadata> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        foreach (var e in _entries.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return e.Metadata;
        }
    }

    /// <inheritdoc />
    public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
