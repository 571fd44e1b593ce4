using System.Runtime.Versioning;

namespace AgentScope.Audit;

/// <summary>
/// Mutual exclusion for appends to one audit log: a <see cref="Gate"/> shared by every sink on that path in this
/// process, plus an OS lock on the <c>.lock</c> file for other processes.
/// </summary>
/// <remarks>
/// Both are needed. On Linux, <see cref="FileStream.Lock"/> takes POSIX record locks, which belong to the process:
/// a second handle in the same process "acquires" a held lock at once, and closing any handle on the file drops the
/// process's locks. So one lock-file handle per path per process is shared (reference counted, never closed while
/// held), and the in-process gate ensures only one holder inside the process at a time. Where region locks are
/// unsupported (macOS), the lock file is instead opened with <see cref="FileShare.None"/> per append, which .NET
/// implements with <c>flock</c>.
/// </remarks>
internal sealed class AuditFileLock
{
    private static readonly Dictionary<string, AuditFileLock> Registry =
        new(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);

    private static readonly Lock RegistrySync = new();

    private readonly string _lockPath;
    private readonly bool _exclusiveOpen;
    private FileStream? _regionHandle;
    private FileStream? _exclusiveHandle;
    private int _references;

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
                }

                Registry.Add(lockPath, fileLock);
            }

            fileLock._references++;
            return fileLock;
        }
    }

    /// <summary>Drops one reference; the last one closes the lock file. Never called while the lock is held.</summary>
    public void Release()
    {
        lock (RegistrySync)
        {
            if (--_references == 0)
            {
                Registry.Remove(_lockPath);
                _regionHandle?.Dispose();
                _regionHandle = null;
            }
        }
    }

    /// <summary>Tries once to take the OS lock (non-blocking). The caller holds <see cref="Gate"/>.</summary>
    public bool TryEnter()
    {
        try
        {
            if (_exclusiveOpen)
            {
                _exclusiveHandle = OpenLockFile(_lockPath, FileShare.None);
            }
            else if (RegionLocksSupported)
            {
                _regionHandle!.Lock(0, 1);
            }

            return true;
        }
        catch (IOException ex)
        {
            LastError = ex;
            return false;
        }
    }

    /// <summary>Releases the OS lock taken by <see cref="TryEnter"/>.</summary>
    public void Exit()
    {
        if (_exclusiveOpen)
        {
            _exclusiveHandle?.Dispose();
            _exclusiveHandle = null;
        }
        else if (RegionLocksSupported)
        {
            _regionHandle!.Unlock(0, 1);
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
