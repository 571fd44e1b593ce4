using System.Runtime.Versioning;

namespace AgentScope.Audit;

/// <summary>
/// Mutual exclusion for appends to one audit log: a <see cref="Gate"/> shared by every sink on that path in this
/// process, plus an OS lock on the <c>.lock</c> file for other processes.
/// </summary>
/// <remarks>
/// <para>
/// Both are needed. On Linux, <see cref="FileStream.Lock"/> takes POSIX record locks, which belong to the process:
/// a second handle in the same process "acquires" a held lock at once, and closing any handle on the file drops the
/// process's locks. So one lock-file handle per path per process is shared (reference counted, never closed while
/// held), and the in-process gate ensures only one holder inside the process at a time. Where region locks are
/// unsupported (macOS), the lock file is instead opened with <see cref="FileShare.None"/> per append, which .NET
/// implements with <c>flock</c>.
/// </para>
/// <para>
/// With region locks the OS lock is leased rather than taken per append: once taken, this process keeps it across
/// appends, which saves two system calls (lock, unlock) per record, and lets it go when another process needs it.
/// Byte 0 of the lock file is the write lock; byte 1 is a "waiting" flag that a writer of another process holds while it
/// waits for byte 0. The holder looks at the flag at most every <see cref="LeaseTick"/> (on an append, or on a timer
/// tick when appends are far apart) and, when it is up, unlocks byte 0 and does not take it back while the flag stays up,
/// so the waiter is next. The timer also lets the lease go after a tick with no append. So another process waits at most
/// about a tick plus its own polling interval, busy or idle as this one may be, and the log still has one writer at a
/// time: the chain is unchanged. A holder that dies loses its locks with its process, as before.
/// </para>
/// </remarks>
#pragma warning disable CA1001 // the lease timer and lock file are disposed by Release, when the last sink lets go
internal sealed class AuditFileLock
#pragma warning restore CA1001
{
    private static readonly Dictionary<string, AuditFileLock> Registry =
        new(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);

    private static readonly Lock RegistrySync = new();

    /// <summary>How often a lease holder checks for a waiting process, and how long an idle lease is kept.</summary>
    internal static readonly TimeSpan LeaseTick = TimeSpan.FromMilliseconds(1);

    private const long WriteByte = 0;
    private const long WaitingByte = 1;

    private readonly string _lockPath;
    private readonly bool _exclusiveOpen;
    private readonly long _tickTimestamps = (long)(LeaseTick.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    private FileStream? _regionHandle;
    private FileStream? _exclusiveHandle;
    private Timer? _leaseTimer;
    private int _references;

    // Lease state (region locks only), touched only while holding Gate.
    private bool _held;          // this process holds byte 0
    private bool _yielded;       // byte 0 was let go for a waiting process: not taken back while its flag is up
    private bool _waiting;       // this process holds byte 1 (it waits for byte 0)
    private bool _appended;      // an append since the last tick
    private bool _closed;
    private long _nextCheck;     // Stopwatch timestamp of the next look at the waiting flag

    private AuditFileLock(string lockPath, bool exclusiveOpen)
    {
        _lockPath = lockPath;
        _exclusiveOpen = exclusiveOpen;
    }

    /// <summary>Serialises every append to this path within the process; hold it before <see cref="TryEnter"/>.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>The last failure of <see cref="TryEnter"/>, reported as the cause when waiting times out.</summary>
    public Exception? LastError { get; private set; }

    [UnsupportedOSPlatformGuard("macos")]
    [UnsupportedOSPlatformGuard("ios")]
    [UnsupportedOSPlatformGuard("tvos")]
    [UnsupportedOSPlatformGuard("maccatalyst")]
    private static bool RegionLocksSupported =>
        !(OperatingSystem.IsMacOS() || OperatingSystem.IsIOS() || OperatingSystem.IsTvOS() || OperatingSystem.IsMacCatalyst());

    /// <summary>Gets the shared lock of <paramref name="lockPath"/>, creating the lock file if needed.</summary>
    public static AuditFileLock Acquire(string lockPath, bool forceExclusiveOpen)
    {
        lock (RegistrySync)
        {
            if (!Registry.TryGetValue(lockPath, out var fileLock))
            {
                var exclusiveOpen = forceExclusiveOpen || !RegionLocksSupported;
                fileLock = new AuditFileLock(lockPath, exclusiveOpen);
                if (exclusiveOpen)
                {
                    // Create it now, so that a bad path fails at construction rather than as a lock timeout.
                    // Another process holding the lock makes this open fail, but then the file exists.
                    try
                    {
                        OpenLockFile(lockPath, FileShare.ReadWrite | FileShare.Delete).Dispose();
                    }
                    catch (IOException) when (File.Exists(lockPath))
                    {
                    }
                }
                else
                {
                    fileLock._regionHandle = OpenLockFile(lockPath, FileShare.ReadWrite | FileShare.Delete);
                    fileLock._leaseTimer = new Timer(static state => ((AuditFileLock)state!).OnTick(), fileLock, Timeout.Infinite, Timeout.Infinite);
                }

                Registry.Add(lockPath, fileLock);
            }

            fileLock._references++;
            return fileLock;
        }
    }

    /// <summary>Drops one reference; the last one lets the lease go and closes the lock file. Never called while holding <see cref="Gate"/>.</summary>
    public void Release()
    {
        lock (RegistrySync)
        {
            if (--_references == 0)
            {
                Registry.Remove(_lockPath);
                Gate.Wait(); // a lease timer tick may be running
                try
                {
                    _closed = true;
                    EndLease();
                    StopWaiting();
                    _leaseTimer?.Dispose();
                    _regionHandle?.Dispose();
                    _regionHandle = null;
                }
                finally
                {
                    Gate.Release();
                }
            }
        }
    }

    /// <summary>
    /// Tries once to take the OS lock (non-blocking): true at once while this process holds the lease. On failure, raises
    /// this process's waiting flag, so that a holder in another process lets the lock go (<see cref="StopWaiting"/> takes
    /// it down if the caller gives up). The caller holds <see cref="Gate"/>.
    /// </summary>
    public bool TryEnter()
    {
        if (_held)
        {
            return true;
        }

        try
        {
            if (_exclusiveOpen)
            {
                _exclusiveHandle = OpenLockFile(_lockPath, FileShare.None);
                return true;
            }

            if (!RegionLocksSupported)
            {
                return true;
            }

            if (_yielded)
            {
                if (OtherProcessWaiting())
                {
                    return false; // the process this one yielded to has not had its turn yet
                }

                _yielded = false;
            }

            _regionHandle!.Lock(WriteByte, 1);
        }
        catch (IOException ex)
        {
            LastError = ex;
            RaiseWaiting();
            return false;
        }

        _held = true;
        StopWaiting();
        _appended = true;
        _nextCheck = System.Diagnostics.Stopwatch.GetTimestamp() + _tickTimestamps; // a turn lasts at least a tick
        _leaseTimer!.Change(LeaseTick, LeaseTick);
        return true;
    }

    /// <summary>
    /// Ends a use of the OS lock taken by <see cref="TryEnter"/>. With region locks the lease is kept, unless another
    /// process is waiting for it (checked at most once per <see cref="LeaseTick"/>). The caller holds <see cref="Gate"/>.
    /// </summary>
    public void Exit()
    {
        if (_exclusiveOpen)
        {
            _exclusiveHandle?.Dispose();
            _exclusiveHandle = null;
            return;
        }

        if (!_held)
        {
            return;
        }

        _appended = true;
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (now >= _nextCheck)
        {
            _nextCheck = now + _tickTimestamps;
            if (OtherProcessWaiting())
            {
                Yield();
            }
        }
    }

    /// <summary>Lets the lease go now (the sink is closing). The caller holds <see cref="Gate"/>.</summary>
    public void EndLease()
    {
        if (_held)
        {
            _held = false;
            _leaseTimer?.Change(Timeout.Infinite, Timeout.Infinite);
            if (RegionLocksSupported)
            {
                _regionHandle?.Unlock(WriteByte, 1);
            }
        }
    }

    /// <summary>Takes down this process's waiting flag, if raised: its writer got the lock or gave up. The caller holds <see cref="Gate"/>.</summary>
    public void StopWaiting()
    {
        if (_waiting)
        {
            _waiting = false;
            if (RegionLocksSupported)
            {
                _regionHandle?.Unlock(WaitingByte, 1);
            }
        }
    }

    private void Yield()
    {
        EndLease();
        _yielded = true;
    }

    private void RaiseWaiting()
    {
        if (_waiting || _exclusiveOpen || !RegionLocksSupported)
        {
            return;
        }

        try
        {
            _regionHandle!.Lock(WaitingByte, 1);
            _waiting = true;
        }
        catch (IOException)
        {
            // Another process's writer is waiting too and holds the flag: it is up either way.
        }
    }

    // Whether a writer of another process holds the waiting flag: try to take it (and give it back at once). Never
    // called while this process holds the flag itself (its lock would succeed on its own flag).
    private bool OtherProcessWaiting()
    {
        System.Diagnostics.Debug.Assert(!_waiting);
        if (!RegionLocksSupported)
        {
            return false;
        }

        try
        {
            _regionHandle!.Lock(WaitingByte, 1);
        }
        catch (IOException)
        {
            return true;
        }

        _regionHandle.Unlock(WaitingByte, 1);
        return false;
    }

    // Every LeaseTick while the lease is held: let it go when no append came since the last tick, or when another process
    // waits. Skipped when the gate is taken: the append holding it looks at the flag itself in Exit.
    private void OnTick()
    {
        if (!Gate.Wait(0))
        {
            return;
        }

        try
        {
            if (_closed || !_held)
            {
                return;
            }

            if (!_appended)
            {
                EndLease();
            }
            else
            {
                _appended = false;
                _nextCheck = System.Diagnostics.Stopwatch.GetTimestamp() + _tickTimestamps;
                if (OtherProcessWaiting())
                {
                    Yield();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // A lock call failed: leave it to the next append (which reports errors) or the next tick.
        }
        finally
        {
            Gate.Release();
        }
    }

    private static FileStream OpenLockFile(string path, FileShare share)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = share,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }
}
