using System.Data;
using AgentScope.Backends;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AgentScope.Providers.Local;

/// <summary>
/// One open connection with every statement the store runs compiled once. Used by one caller at a time (see <see cref="SessionPool"/>),
/// so the hot path binds parameters and steps a prepared statement: no new command, no SQL parsing.
/// </summary>
internal sealed class LocalSession : IDisposable
{
    internal const int PageSize = 500;

    private const string MetadataColumns = "kind, version, created_ticks, updated_ticks, expires_ticks, encrypted";

    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _commands = [];

    // Get runs on every read of every request, so it steps its own prepared statement through SQLitePCL.raw rather than
    // a SqliteCommand, which per call allocates a data reader, binds every parameter through a generic value binder and
    // checks each column's type before reading it. Same SQL, same connection and settings (busy timeout, pragmas).
    private readonly sqlite3_stmt _get;

    private readonly SqliteCommand _put;
    private readonly SqliteParameter _putNs, _putLabel, _putKind, _putVersion, _putCreated, _putUpdated, _putExpires, _putEncrypted, _putValue;

    private readonly SqliteCommand _delete;
    private readonly SqliteParameter _deleteNs, _deleteLabel;

    private readonly SqliteCommand _listFirst;
    private readonly SqliteParameter _listFirstNs;
    private readonly SqliteCommand _listNext;
    private readonly SqliteParameter _listNextNs, _listNextAfter;

    private readonly SqliteCommand _listAllFirst;
    private readonly SqliteCommand _listAllNext;
    private readonly SqliteParameter _listAllNextNs, _listAllNextAfter;

    private readonly SqliteCommand _health;

    private LocalSession(SqliteConnection connection)
    {
        _connection = connection;

        var db = connection.Handle!;
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v3(db,
            $"SELECT {MetadataColumns}, value FROM entries WHERE namespace = ?1 AND label = ?2", raw.SQLITE_PREPARE_PERSISTENT, out _get), db);

        _put = Command("""
            INSERT INTO entries (namespace, label, kind, version, created_ticks, updated_ticks, expires_ticks, encrypted, value)
            VALUES ($ns, $label, $kind, $version, $created, $updated, $expires, $encrypted, $value)
            ON CONFLICT (namespace, label) DO UPDATE SET
                kind = excluded.kind, version = excluded.version, created_ticks = excluded.created_ticks,
                updated_ticks = excluded.updated_ticks, expires_ticks = excluded.expires_ticks,
                encrypted = excluded.encrypted, value = excluded.value
            """);
        _putNs = Parameter(_put, "$ns", SqliteType.Text);
        _putLabel = Parameter(_put, "$label", SqliteType.Text);
        _putKind = Parameter(_put, "$kind", SqliteType.Integer);
        _putVersion = Parameter(_put, "$version", SqliteType.Integer);
        _putCreated = Parameter(_put, "$created", SqliteType.Integer);
        _putUpdated = Parameter(_put, "$updated", SqliteType.Integer);
        _putExpires = Parameter(_put, "$expires", SqliteType.Integer);
        _putEncrypted = Parameter(_put, "$encrypted", SqliteType.Integer);
        _putValue = Parameter(_put, "$value", SqliteType.Blob);

        _delete = Command("DELETE FROM entries WHERE namespace = $ns AND label = $label");
        _deleteNs = Parameter(_delete, "$ns", SqliteType.Text);
        _deleteLabel = Parameter(_delete, "$label", SqliteType.Text);

        // Listing reads metadata columns only, and pages by key (an index range scan on the primary key), so no read
        // transaction stays open while the caller works through the results, and deletes during enumeration are safe.
        _listFirst = Command($"SELECT namespace, label, {MetadataColumns} FROM entries WHERE namespace = $ns ORDER BY label LIMIT {PageSize}");
        _listFirstNs = Parameter(_listFirst, "$ns", SqliteType.Text);
        _listNext = Command($"SELECT namespace, label, {MetadataColumns} FROM entries WHERE namespace = $ns AND label > $after ORDER BY label LIMIT {PageSize}");
        _listNextNs = Parameter(_listNext, "$ns", SqliteType.Text);
        _listNextAfter = Parameter(_listNext, "$after", SqliteType.Text);

        _listAllFirst = Command($"SELECT namespace, label, {MetadataColumns} FROM entries ORDER BY namespace, label LIMIT {PageSize}");
        _listAllNext = Command(
            $"SELECT namespace, label, {MetadataColumns} FROM entries WHERE (namespace, label) > ($ns, $after) ORDER BY namespace, label LIMIT {PageSize}");
        _listAllNextNs = Parameter(_listAllNext, "$ns", SqliteType.Text);
        _listAllNextAfter = Parameter(_listAllNext, "$after", SqliteType.Text);

        _health = Command("SELECT count(*) FROM (SELECT 1 FROM entries LIMIT 1)");

        foreach (var command in _commands)
        {
            command.Prepare();
        }
    }

    /// <summary>Opens a connection to an initialised store, applies the per-connection settings and prepares every statement.</summary>
    internal static LocalSession Open(string connectionString, TimeSpan busyTimeout, bool flushEveryCommit)
    {
        var connection = OpenConnection(connectionString, busyTimeout, flushEveryCommit);
        try
        {
            return new LocalSession(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Opens a raw connection with the per-connection settings (busy timeout, synchronous level).</summary>
    internal static SqliteConnection OpenConnection(string connectionString, TimeSpan busyTimeout, bool flushEveryCommit)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var pragmas = connection.CreateCommand();
            // busy_timeout: when another connection (the CLI next to the server, or a second backend instance) holds the write
            // lock, SQLite retries with short sleeps for this long before reporting SQLITE_BUSY.
            // synchronous=NORMAL in WAL mode: a commit is appended to the -wal file before the call returns, so it is in the
            // operating system's page cache and survives a crash (or kill -9) of this process; the WAL is fsynced at each
            // checkpoint, so the file is never corrupted, and only a power loss or OS crash can roll back the last commits.
            // That is SQLite's documented guarantee for WAL + NORMAL; FULL (an fsync per commit) is an option.
            pragmas.CommandText = FormattableString.Invariant(
                $"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(flushEveryCommit ? "FULL" : "NORMAL")}; PRAGMA trusted_schema = OFF;");
            pragmas.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    internal BackendEntry? Get(EntryKey key)
    {
        var db = _connection.Handle!;
        try
        {
            SqliteException.ThrowExceptionForRC(raw.sqlite3_bind_text(_get, 1, key.Namespace), db);
            SqliteException.ThrowExceptionForRC(raw.sqlite3_bind_text(_get, 2, key.Label), db);
            var rc = raw.sqlite3_step(_get);
            if (rc == raw.SQLITE_DONE)
            {
                return null;
            }

            if (rc != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }

            var metadata = new EntryMetadata(
                key,
                (SecretKind)raw.sqlite3_column_int64(_get, 0),
                raw.sqlite3_column_int64(_get, 1),
                new DateTimeOffset(raw.sqlite3_column_int64(_get, 2), TimeSpan.Zero),
                new DateTimeOffset(raw.sqlite3_column_int64(_get, 3), TimeSpan.Zero),
                raw.sqlite3_column_type(_get, 4) == raw.SQLITE_NULL ? null : new DateTimeOffset(raw.sqlite3_column_int64(_get, 4), TimeSpan.Zero),
                raw.sqlite3_column_int64(_get, 5) != 0);
            return new BackendEntry(metadata, raw.sqlite3_column_blob(_get, 6).ToArray());
        }
        finally
        {
            raw.sqlite3_reset(_get); // ends the read transaction; its result repeats the step's, already handled
        }
    }

    internal void Put(BackendEntry entry)
    {
        var m = entry.Metadata;
        _putNs.Value = m.Key.Namespace;
        _putLabel.Value = m.Key.Label;
        _putKind.Value = (long)m.Kind;
        _putVersion.Value = m.Version;
        _putCreated.Value = m.CreatedAt.UtcTicks;
        _putUpdated.Value = m.UpdatedAt.UtcTicks;
        _putExpires.Value = m.ExpiresAt is { } expires ? expires.UtcTicks : DBNull.Value;
        _putEncrypted.Value = m.Encrypted ? 1L : 0L;
        _putValue.Value = entry.Value;
        _put.ExecuteNonQuery();
        _putValue.Value = DBNull.Value; // do not keep a reference to the caller's bytes
    }

    internal bool Delete(EntryKey key)
    {
        _deleteNs.Value = key.Namespace;
        _deleteLabel.Value = key.Label;
        return _delete.ExecuteNonQuery() > 0;
    }

    /// <summary>One page of a namespace's metadata, ordered by label, starting after <paramref name="afterLabel"/> (null: from the start).</summary>
    internal List<EntryMetadata> ListPage(string ns, string? afterLabel)
    {
        SqliteCommand command;
        if (afterLabel is null)
        {
            _listFirstNs.Value = ns;
            command = _listFirst;
        }
        else
        {
            _listNextNs.Value = ns;
            _listNextAfter.Value = afterLabel;
            command = _listNext;
        }

        return ReadPage(command);
    }

    /// <summary>One page of every entry's metadata, ordered by (namespace, label), starting after <paramref name="after"/> (null: from the start).</summary>
    internal List<EntryMetadata> ListAllPage(EntryKey? after)
    {
        SqliteCommand command;
        if (after is not { } a)
        {
            command = _listAllFirst;
        }
        else
        {
            _listAllNextNs.Value = a.Namespace;
            _listAllNextAfter.Value = a.Label;
            command = _listAllNext;
        }

        return ReadPage(command);
    }

    internal void CheckHealth() => _health.ExecuteScalar();

    public void Dispose()
    {
        _get.Dispose();
        foreach (var command in _commands)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }

    private static List<EntryMetadata> ReadPage(SqliteCommand command)
    {
        var page = new List<EntryMetadata>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            page.Add(ReadMetadata(reader, new EntryKey(reader.GetString(0), reader.GetString(1)), 2));
        }

        return page;
    }

    private static EntryMetadata ReadMetadata(SqliteDataReader reader, EntryKey key, int first) => new(
        key,
        (SecretKind)reader.GetInt64(first),
        reader.GetInt64(first + 1),
        new DateTimeOffset(reader.GetInt64(first + 2), TimeSpan.Zero),
        new DateTimeOffset(reader.GetInt64(first + 3), TimeSpan.Zero),
        reader.IsDBNull(first + 4) ? null : new DateTimeOffset(reader.GetInt64(first + 4), TimeSpan.Zero),
        reader.GetInt64(first + 5) != 0);

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        _commands.Add(command);
        return command;
    }

    private static SqliteParameter Parameter(SqliteCommand command, string name, SqliteType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.SqliteType = type;
        parameter.Value = DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
