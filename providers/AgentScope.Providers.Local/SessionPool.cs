namespace AgentScope.Providers.Local;

/// <summary>
/// A bounded set of <see cref="LocalSession"/>s, opened lazily and reused. Renting one when one is idle completes synchronously.
/// A session that saw an error is closed instead of being returned, so a broken connection is never reused.
/// </summary>
internal sealed class SessionPool : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly Stack<LocalSession> _idle = new();
    private readonly Func<LocalSession> _open;
    private bool _disposed;

    internal SessionPool(int size, Func<LocalSession> open)
    {
        _slots = new SemaphoreSlim(size, size);
        _open = open;
    }

    internal ValueTask<LocalSession> RentAsync(CancellationToken cancellationToken) =>
        _slots.Wait(0, CancellationToken.None) ? ValueTask.FromResult(TakeOrOpen()) : RentSlowAsync(cancellationToken);

    /// <summary>Gives a session back; <paramref name="broken"/> closes it instead (after an error).</summary>
    internal void Return(LocalSession session, bool broken = false)
    {
        var close = broken;
        lock (_idle)
        {
            if (_disposed)
            {
                close = true;
            }
            else if (!broken)
            {
                _idle.Push(session);
            }
        }

        if (close)
        {
            session.Dispose();
        }

        _slots.Release();
    }

    public void Dispose()
    {
        LocalSession[] idle;
        lock (_idle)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var session in idle)
        {
            session.Dispose();
        }
    }

    private async ValueTask<LocalSession> RentSlowAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return TakeOrOpen();
    }

    // Called holding a slot: hand out an idle session or open a new one; give the slot back on failure.
    private LocalSession TakeOrOpen()
    {
        try
        {
            lock (_idle)
            {
                ObjectDisposedException.ThrowIf(_disposed, typeof(LocalSecretBackend));
                if (_idle.TryPop(out var session))
                {
                    return session;
                }
            }

            return _open();
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }
}
