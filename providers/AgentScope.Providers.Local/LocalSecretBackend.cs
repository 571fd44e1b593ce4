using System.Runtime.CompilerServices;
using AgentScope.Backends;
using Microsoft.Data.Sqlite;

namespace AgentScope.Providers.Local;

/// <summary>
/// AgentScope's embedded default backend: one SQLite file in WAL mode, one row per entry keyed by (namespace, label).
/// The core encrypts every value with the owning agent's data key before it arrives here (<see cref="BackendCapabilities.RequiresEncryption"/>),
/// so this store keeps opaque bytes and never sees a plaintext.
/// </summary>
/// <remarks>
/// <para>Several processes may use the same file at once (a CLI next to a server): readers never block, writers take turns
/// and wait up to <see cref="LocalStoreOptions.BusyTimeout"/> for each other.</para>
/// <para>Connections are opened lazily (the file and its directory are created on first use, mode 0600 on Unix) and kept in
/// a small pool, each with its statements prepared once. Errors from SQLite (locked past the timeout, I/O, full disk, corrupt
/// or foreign file) surface as <see cref="ErrorKind.BackendUnavailable"/> naming the file, never a value.</para>
/// </remarks>
public sealed class LocalSecretBackend : ISecretBackend, IAsyncDisposable, IDisposable
{
    /// <summary>The schema this build writes and understands, kept in <c>PRAGMA user_version</c>.</summary>
    internal const int SchemaVersion = 1;

    /// <summary>Marks the file as an AgentScope store (<c>PRAGMA application_id</c>, "AgSc").</summary>
    internal const int ApplicationId = 0x41675363;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly BackendCapabilities LocalCapabilities = new()
    {
        Name = "Local",
        MaxValueBytes = 1 << 20,
        ServerSideFiltering = true,
        RequiresEncryption = true,
        MaxConcurrency = 4,
    };

    private readonly string _connectionString;
    private readonly TimeSpan _busyTimeout;
    private readonly Lock _initLock = new();
    private readonly SessionPool _readers;
    // Writes from this process take turns here rather than contending for SQLite's write lock (whose busy handler sleeps);
    // only writers in other processes ever meet the busy timeout.
    private readonly SessionPool _writer;
    private bool _flushEveryCommit;
    private volatile bool _initialized;
    private int _disposed;

    /// <summary>Creates a backend on the file named by <paramref name="options"/>. Nothing is opened until the first call.</summary>
    /// <param name="options">Where the file is, and how long to wait for other processes. The values are copied.</param>
    /// <exception cref="ArgumentException">The options are not usable (e.g. no path).</exception>
    public LocalSecretBackend(LocalStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        DatabasePath = System.IO.Path.GetFullPath(options.Path);
        _busyTimeout = options.BusyTimeout;
        _flushEveryCommit = options.FlushEveryCommit;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            // The file is created by Initialize with owner-only permissions; a file that disappears later is an error, not recreated.
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            // The pool below owns the connections; ADO.NET pooling would keep the file open after Dispose.
            Pooling = false,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY until this command timeout, on top of PRAGMA busy_timeout.
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        }.ToString();

        _readers = new SessionPool(options.MaxReadConnections, OpenSession);
        _writer = new SessionPool(1, OpenSession);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <inheritdoc />
    /// <remarks>Local: 1 MiB values, SQL-index enumeration per namespace, values must be encrypted by the core, 4 concurrent calls.</remarks>
    public BackendCapabilities Capabilities => LocalCapabilities;

    /// <inheritdoc />
    public ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default) =>
        RunAsync(_readers, key, static (session, k) => session.Get(k), "read", key.ToString(), cancellationToken);

    /// <inheritdoc />
    /// <remarks>Returns once the row is committed to the WAL (see <see cref="LocalStoreOptions.FlushEveryCommit"/> for what that survives).</remarks>
    /// <exception cref="AgentScopeException">Kind <see cref="ErrorKind.ValueTooLarge"/> when the value exceeds 1 MiB; nothing is written.</exception>
    public async ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Value.Length > LocalCapabilities.MaxValueBytes)
        {
            throw new AgentScopeException(ErrorKind.ValueTooLarge,
                $"value of {Describe(entry.Metadata.Key.ToString())} is {entry.Value.Length} bytes; the local store accepts at most {LocalCapabilities.MaxValueBytes}");
        }

        await RunAsync(_writer, entry, static (session, e) =>
        {
            session.Put(e);
            return true;
        }, "write", entry.Metadata.Key.ToString(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default) =>
        RunAsync(_writer, key, static (session, k) => session.Delete(k), "delete", key.ToString(), cancellationToken);

    /// <inheritdoc />
    /// <remarks>Ordered by label (ordinal). Reads a page at a time by key, so no transaction stays open between pages.</remarks>
    public async IAsyncEnumerable<EntryMetadata> ListAsync(string ns, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ns);
        string? after = null;
        while (true)
        {
            var page = await RunAsync(_readers, (ns, after), static (session, s) => session.ListPage(s.ns, s.after),
                "list namespace", ns, cancellationToken).ConfigureAwait(false);
            foreach (var metadata in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return metadata;
            }

            if (page.Count < LocalSession.PageSize)
            {
                yield break;
            }

            after = page[^1].Key.Label;
        }
    }

    /// <inheritdoc />
    /// <remarks>Ordered by namespace, then label (ordinal), a page at a time.</remarks>
    public async IAsyncEnumerable<EntryMetadata> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EntryKey? after = null;
        while (true)
        {
            var page = await RunAsync(_readers, after, static (session, a) => session.ListAllPage(a),
                "list", "all entries", cancellationToken).ConfigureAwait(false);
            foreach (var metadata in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return metadata;
            }

            if (page.Count < LocalSession.PageSize)
            {
                yield break;
            }

            after = page[^1].Key;
        }
    }

    /// <inheritdoc />
    /// <remarks>Opens the store if needed, checks the file is still there and that the entries table can be read.</remarks>
    public async ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        await RunAsync(_readers, 0, static (session, _) =>
        {
            session.CheckHealth();
            return true;
        }, "check", "health", cancellationToken).ConfigureAwait(false);

        if (!File.Exists(DatabasePath))
        {
            throw AgentScopeException.Unavailable($"local store {DatabasePath} no longer exists (deleted or moved while open)");
        }
    }

    /// <summary>Closes every connection. Calls in flight finish; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _readers.Dispose();
        _writer.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"LocalSecretBackend {{ {DatabasePath} }}";

    // The one path every call takes: open the store if needed, rent a session, run, map SQLite failures, return the session.
    private async ValueTask<TResult> RunAsync<TState, TResult>(SessionPool pool, TState state, Func<LocalSession, TState, TResult> operation,
        string verb, string subject, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_initialized)
        {
            Initialize();
        }

        LocalSession session;
        try
        {
            session = await pool.RentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Failure($"cannot open a connection to {verb} {Describe(subject)}", ex);
        }

        var broken = false;
        try
        {
            return operation(session, state);
        }
        catch (SqliteException ex)
        {
            broken = true;
            throw Failure($"cannot {verb} {Describe(subject)}", ex);
        }
        finally
        {
            pool.Return(session, broken);
        }
    }

    private LocalSession OpenSession() => LocalSession.Open(_connectionString, _busyTimeout, _flushEveryCommit);

    // Creates the directory and the file (owner-only), checks the file is an AgentScope store of a schema this build knows,
    // switches it to WAL and creates the schema. Safe against another process doing the same at the same time.
    private void Initialize()
    {
        lock (_initLock)
        {
            if (_initialized)
            {
                return;
            }

            CreateFileIfMissing();
            try
            {
                using var connection = LocalSession.OpenConnection(_connectionString, _busyTimeout, _flushEveryCommit);
                CheckIsOurs(connection);

                // journal_mode is persistent in the file; it must be set outside a transaction.
                var mode = Scalar(connection, "PRAGMA journal_mode = WAL") as string;
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    // WAL needs shared memory (not on some network file systems). Rollback journals are only safe with FULL.
                    _flushEveryCommit = true;
                }

                CreateSchema(connection);
            }
            catch (SqliteException ex)
            {
                throw Failure("cannot open", ex);
            }

            TightenPermissions();
            _initialized = true;
        }
    }

    private void CreateFileIfMissing()
    {
        try
        {
            var directory = System.IO.Path.GetDirectoryName(DatabasePath);
            if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(directory);
                }
                else
                {
                    Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }

            if (File.Exists(DatabasePath))
            {
                return;
            }

            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite };
            if (!OperatingSystem.IsWindows())
            {
                // SQLite gives the -wal and -shm files the database file's mode, so they are owner-only too.
                create.UnixCreateMode = OwnerOnly;
            }

            try
            {
                using var file = new FileStream(DatabasePath, create);
            }
            catch (IOException) when (File.Exists(DatabasePath))
            {
                // Another process created it first.
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw AgentScopeException.Unavailable($"cannot create the local store {DatabasePath}: {ex.Message}", ex);
        }
    }

    private void CheckIsOurs(SqliteConnection connection)
    {
        var applicationId = Convert.ToInt64(Scalar(connection, "PRAGMA application_id"), System.Globalization.CultureInfo.InvariantCulture);
        var userVersion = Convert.ToInt64(Scalar(connection, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        if (applicationId != 0 && applicationId != ApplicationId)
        {
            throw AgentScopeException.Unavailable($"{DatabasePath} is a SQLite database of another application, not an AgentScope local store");
        }

        if (applicationId == 0 && userVersion == 0
            && Convert.ToInt64(Scalar(connection, "SELECT count(*) FROM sqlite_schema"), System.Globalization.CultureInfo.InvariantCulture) > 0)
        {
            throw AgentScopeException.Unavailable($"{DatabasePath} is a SQLite database with other tables, not an AgentScope local store");
        }

        if (userVersion > SchemaVersion)
        {
            throw AgentScopeException.Unavailable(
                $"local store {DatabasePath} has schema version {userVersion}, written by a newer AgentScope; this version understands up to {SchemaVersion}");
        }
    }

    private static void CreateSchema(SqliteConnection connection)
    {
        // IMMEDIATE: take the write lock first, so two processes opening a new file at once create the schema exactly once.
        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            // One row per entry, clustered on (namespace, label) with binary (case-sensitive) collation: a get is one B-tree
            // search, one namespace's entries are one contiguous index range. The value comes last so that listing, which reads
            // only the metadata columns, does not touch the overflow pages of large values. Times are UTC ticks
            // (100 ns since 0001-01-01), exact for DateTimeOffset. Schema changes bump user_version and migrate here.
            command.CommandText = FormattableString.Invariant($"""
                CREATE TABLE entries (
                    namespace     TEXT    NOT NULL COLLATE BINARY,
                    label         TEXT    NOT NULL COLLATE BINARY,
                    kind          INTEGER NOT NULL,
                    version       INTEGER NOT NULL,
                    created_ticks INTEGER NOT NULL,
                    updated_ticks INTEGER NOT NULL,
                    expires_ticks INTEGER NULL,
                    encrypted     INTEGER NOT NULL,
                    value         BLOB    NOT NULL,
                    PRIMARY KEY (namespace, label)
                ) WITHOUT ROWID;
                PRAGMA application_id = {ApplicationId};
                PRAGMA user_version = {SchemaVersion};
                """);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    // The file is created 0600, but one made by an older tool or copied in may be wider: narrow it (best effort; the owner can).
    private void TightenPermissions()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var file in new[] { DatabasePath, DatabasePath + "-wal", DatabasePath + "-shm" })
        {
            try
            {
                if (File.Exists(file) && (File.GetUnixFileMode(file) & ~OwnerOnly) != 0)
                {
                    File.SetUnixFileMode(file, OwnerOnly);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not the owner (e.g. a shared file managed by an administrator): leave it as it is.
            }
        }
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private AgentScopeException Failure(string what, SqliteException ex)
    {
        var reason = ex.SqliteErrorCode switch
        {
            5 => "the database is locked by another process for longer than the busy timeout",
            6 => "a table is locked",
            8 => "the file or its directory is read-only",
            10 => "disk I/O error",
            11 => "the database file is corrupted",
            13 => "the disk is full",
            14 => "the file cannot be opened",
            26 => "the file is not a SQLite database (corrupted or something else)",
            _ => "SQLite error",
        };
        return AgentScopeException.Unavailable($"local store {DatabasePath}: {what}: {reason} (SQLite code {ex.SqliteErrorCode})", ex);
    }

    // Subjects are namespaces and labels: not secret, but possibly untrusted. Bound them and strip control characters.
    private static string Describe(string subject)
    {
        var shown = subject.Length > 100 ? subject[..100] + "..." : subject;
        return "'" + string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c)) + "'";
    }
}
