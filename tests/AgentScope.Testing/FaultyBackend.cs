using System.Runtime.CompilerServices;
using AgentScope.Backends;

namespace AgentScope.Testing;

/// <summary>
/// A decorator over another backend that fails on cue: the n-th get, put or delete from the moment it is armed, or
/// every delete after the first k (a process dying in the middle of a revoke). Calls outside <see cref="Where"/> pass through
/// untouched and are not counted.
/// </summary>
public sealed class FaultyBackend : ISecretBackend
{
    private readonly Lock _gate = new();
    private Fault? _get;
    private Fault? _put;
    private Fault? _delete;
    private int _deletesBeforeCrash = -1;
    private Func<Exception>? _crash;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public FaultyBackend(ISecretBackend inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The wrapped backend, to look at what was really stored.</summary>
    public ISecretBackend Inner { get; }

    /// <summary>Which keys the faults apply to (default: every key). E.g. <c>k =&gt; !k.IsRegistry</c> spares the registry.</summary>
    public Func<EntryKey, bool>? Where { get; set; }

    /// <summary>Runs at the start of every <see cref="ListAllAsync"/>, before anything is enumerated (to interleave work with a sweep).</summary>
    public Func<CancellationToken, ValueTask>? BeforeListAll { get; set; }

    /// <summary>Runs before every put reaches the inner backend (e.g. a delay, to widen a race window); faults are checked first.</summary>
    public Func<EntryKey, CancellationToken, ValueTask>? BeforePut { get; set; }

    /// <summary>Gets that reached the inner backend.</summary>
    public int Gets { get; private set; }

    /// <summary>Puts that reached the inner backend.</summary>
    public int Puts { get; private set; }

    /// <summary>Deletes that reached the inner backend.</summary>
    public int Deletes { get; private set; }

    /// <summary>The default injected failure: a new typed "backend unavailable" each time.</summary>
    public static AgentScopeException Unavailable() => AgentScopeException.Unavailable("injected backend failure");

    // A fresh exception per throw: parallel deletes must not share (and race on) one exception's stack trace.

    /// <inheritdoc />
    public BackendCapabilities Capabilities => Inner.Capabilities;

    /// <summary>The <paramref name="n"/>-th matching get from now (1 = the next one) throws what <paramref name="error"/> makes (default <see cref="Unavailable"/>).</summary>
    public void FailNthGet(int n, Func<Exception>? error = null) => Arm(ref _get, n, error);

    /// <summary>The <paramref name="n"/>-th matching put from now (1 = the next one) throws and stores nothing.</summary>
    public void FailNthPut(int n, Func<Exception>? error = null) => Arm(ref _put, n, error);

    /// <summary>The <paramref name="n"/>-th matching delete from now (1 = the next one) throws and deletes nothing.</summary>
    public void FailNthDelete(int n, Func<Exception>? error = null) => Arm(ref _delete, n, error);

    /// <summary>The next <paramref name="k"/> matching deletes succeed; every one after them throws until <see cref="Heal"/>.</summary>
    public void ThrowAfterDeletes(int k, Func<Exception>? error = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        lock (_gate)
        {
            _deletesBeforeCrash = k;
            _crash = error ?? Unavailable;
        }
    }

    /// <summary>Disarms every fault.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _get = _put = _delete = null;
            _deletesBeforeCrash = -1;
            _crash = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (Applies(key))
            {
                Trip(ref _get);
            }

            Gets++;
        }

        return await Inner.GetAsync(key, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            if (Applies(entry.Metadata.Key))
            {
                Trip(ref _put);
            }

            Puts++;
        }

        if (BeforePut is { } hook)
        {
            await hook(entry.Metadata.Key, cancellationToken);
        }

        await Inner.PutAsync(entry, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (Applies(key))
            {
                Trip(ref _delete);
                if (_deletesBeforeCrash == 0)
                {
                    throw _crash!();
                }

                if (_deletesBeforeCrash > 0)
                {
                    _deletesBeforeCrash--;
                }
            }

            Deletes++;
        }

        return await Inner.DeleteAsync(key, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default) => Inner.ListAsync(ns, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<EntryMetadata> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (BeforeListAll is { } hook)
        {
            await hook(cancellationToken);
        }

        await foreach (var m in Inner.ListAllAsync(cancellationToken))
        {
            yield return m;
        }
    }

    /// <inheritdoc />
    public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default) => Inner.CheckHealthAsync(cancellationToken);

    private bool Applies(EntryKey key) => Where?.Invoke(key) ?? true;

    private void Arm(ref Fault? slot, int n, Func<Exception>? error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        lock (_gate)
        {
            slot = new Fault { Remaining = n, Error = error ?? Unavailable };
        }
    }

    // Called under the lock: counts one matching call and throws when it is the armed one.
    private static void Trip(ref Fault? slot)
    {
        if (slot is { } fault && --fault.Remaining == 0)
        {
            slot = null;
            throw fault.Error();
        }
    }

    private sealed class Fault
    {
        public int Remaining;
        public required Func<Exception> Error;
    }
}
