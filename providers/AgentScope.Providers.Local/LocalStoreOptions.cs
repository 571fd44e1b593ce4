namespace AgentScope.Providers.Local;

/// <summary>Where and how <see cref="LocalSecretBackend"/> keeps its SQLite file.</summary>
public sealed class LocalStoreOptions
{
    /// <summary>The default for <see cref="BusyTimeout"/>: five seconds.</summary>
    public static readonly TimeSpan DefaultBusyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The path of the database file, e.g. <c>~/.agentscope/store.db</c> (expanded by the caller) or <c>/var/lib/agentscope/store.db</c>.
    /// The directory and the file are created when missing; on Unix the file (and its <c>-wal</c> and <c>-shm</c> companions) get mode 0600.
    /// Required.
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>
    /// How long a call waits for another process (a CLI next to a server) holding the write lock before it fails as
    /// backend unavailable. Default <see cref="DefaultBusyTimeout"/>. Microsoft.Data.Sqlite also retries a busy statement until
    /// its command timeout, which counts in whole seconds, so in practice the wait is at least one second and rounded up to seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = DefaultBusyTimeout;

    /// <summary>
    /// How many read connections the store keeps open at most (each with its prepared statements); writes use one more.
    /// Default 4, the backend's declared <c>MaxConcurrency</c>.
    /// </summary>
    public int MaxReadConnections { get; set; } = 4;

    /// <summary>
    /// When true, every commit is flushed to the disk (<c>synchronous=FULL</c>), so a write also survives a power loss or an
    /// operating-system crash. Default false (<c>synchronous=NORMAL</c>): a write survives a crash of the process, and the
    /// database is never corrupted, but the last commits before a power loss may roll back. Full is several times slower on writes.
    /// </summary>
    public bool FlushEveryCommit { get; set; }

    /// <summary>The problem with these options, or null when they are usable.</summary>
    internal string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            return "LocalStoreOptions.Path is required: set it to the SQLite file the local store should use (e.g. /var/lib/agentscope/store.db)";
        }

        if (Path.Contains('\0', StringComparison.Ordinal))
        {
            return "LocalStoreOptions.Path contains a NUL character";
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            return "LocalStoreOptions.BusyTimeout must be between 0 and 10 minutes";
        }

        if (MaxReadConnections is < 1 or > 64)
        {
            return "LocalStoreOptions.MaxReadConnections must be between 1 and 64";
        }

        return null;
    }
}
