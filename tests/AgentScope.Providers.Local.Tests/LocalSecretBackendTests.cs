using System.Security.Cryptography;
using System.Text;
using AgentScope.Backends;
using Microsoft.Data.Sqlite;

namespace AgentScope.Providers.Local.Tests;

public sealed class LocalSecretBackendTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static BackendEntry Entry(string ns, string label, byte[] value, long version = 1, bool encrypted = true) =>
        new(new EntryMetadata(new EntryKey(ns, label), SecretKind.Generic, version, T0, T0.AddSeconds(version), null, encrypted), value);

    private static BackendEntry Entry(string ns, string label, string value, long version = 1) => Entry(ns, label, Encoding.UTF8.GetBytes(value), version, encrypted: false);

    private static async Task<List<T>> ToList<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private SqliteConnection Raw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _store.DbPath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public void Capabilities_declare_the_local_store()
    {
        using var backend = _store.Open();
        Assert.Equal("Local", backend.Capabilities.Name);
        Assert.Equal(1_048_576, backend.Capabilities.MaxValueBytes);
        Assert.True(backend.Capabilities.ServerSideFiltering);
        Assert.True(backend.Capabilities.RequiresEncryption);
        Assert.Equal(4, backend.Capabilities.MaxConcurrency);
    }

    [Fact]
    public async Task Nothing_is_created_until_the_first_call_then_directory_and_file_are()
    {
        var path = Path.Combine(_store.DirectoryPath, "nested", "deeper", "store.db");
        await using var backend = new LocalSecretBackend(new LocalStoreOptions { Path = path });
        Assert.False(File.Exists(path));
        await backend.CheckHealthAsync();
        Assert.True(File.Exists(path));
        Assert.Equal(Path.GetFullPath(path), backend.DatabasePath);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }
    }

    [Fact]
    public async Task Data_survives_reopening_the_file()
    {
        var expires = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(1234567);
        var updated = DateTimeOffset.UtcNow;
        await using (var first = _store.Open())
        {
            await first.PutAsync(new BackendEntry(
                new EntryMetadata(new EntryKey("alpha", "db"), SecretKind.Totp, 7, T0, updated, expires, true), [1, 2, 3]));
            await first.PutAsync(Entry(EntryKey.RegistryNamespace, "agent.alpha", "{}"));
        }

        await using var second = _store.Open();
        var got = await second.GetAsync(new EntryKey("alpha", "db"));
        Assert.NotNull(got);
        Assert.Equal([1, 2, 3], got.Value);
        Assert.Equal(SecretKind.Totp, got.Metadata.Kind);
        Assert.Equal(7, got.Metadata.Version);
        Assert.Equal(T0, got.Metadata.CreatedAt);
        Assert.Equal(updated.UtcTicks, got.Metadata.UpdatedAt.UtcTicks); // exact to the tick
        Assert.Equal(expires, got.Metadata.ExpiresAt);
        Assert.True(got.Metadata.Encrypted);
        Assert.Equal(2, (await ToList(second.ListAllAsync())).Count);
    }

    [Fact]
    public async Task Two_instances_on_one_file_write_concurrently_without_busy_errors()
    {
        await using var a = _store.Open();
        await using var b = _store.Open();
        const int tasksPerInstance = 4, putsPerTask = 200;

        var work = new List<Task>();
        foreach (var (backend, name) in new[] { (a, "a"), (b, "b") })
        {
            for (var t = 0; t < tasksPerInstance; t++)
            {
                var task = t;
                work.Add(Task.Run(async () =>
                {
                    for (var i = 0; i < putsPerTask; i++)
                    {
                        await backend.PutAsync(Entry("shared", $"{name}-{task}-{i:D3}", RandomNumberGenerator.GetBytes(48)));
                        if (i % 10 == 0)
                        {
                            Assert.NotNull(await backend.GetAsync(new EntryKey("shared", $"{name}-{task}-{i:D3}")));
                        }
                    }
                }));
            }
        }

        await Task.WhenAll(work);

        const int total = 2 * tasksPerInstance * putsPerTask;
        Assert.Equal(total, (await ToList(a.ListAsync("shared"))).Select(m => m.Key.Label).Distinct().Count());
        Assert.Equal(total, (await ToList(b.ListAsync("shared"))).Select(m => m.Key.Label).Distinct().Count());
        Assert.NotNull(await a.GetAsync(new EntryKey("shared", "b-3-199")));
        Assert.NotNull(await b.GetAsync(new EntryKey("shared", "a-0-000")));
    }

    [Fact]
    public async Task Stored_bytes_are_kept_as_they_are_in_the_value_column()
    {
        var ciphertext = RandomNumberGenerator.GetBytes(333);
        await using var backend = _store.Open();
        await backend.PutAsync(Entry("alpha", "opaque", ciphertext));
        await backend.PutAsync(Entry("alpha", "empty", Array.Empty<byte>()));

        using var raw = Raw();
        using var command = raw.CreateCommand();
        command.CommandText = "SELECT value, typeof(value), encrypted FROM entries WHERE namespace = 'alpha' AND label = 'opaque'";
        using (var reader = command.ExecuteReader())
        {
            Assert.True(reader.Read());
            Assert.Equal(ciphertext, reader.GetFieldValue<byte[]>(0));
            Assert.Equal("blob", reader.GetString(1));
            Assert.Equal(1, reader.GetInt64(2));
        }

        Assert.Equal(ciphertext, (await backend.GetAsync(new EntryKey("alpha", "opaque")))!.Value);
        Assert.Empty((await backend.GetAsync(new EntryKey("alpha", "empty")))!.Value);
    }

    [Fact]
    public async Task The_schema_is_versioned_wal_and_clustered_on_namespace_and_label()
    {
        await using var backend = _store.Open();
        await backend.CheckHealthAsync();

        using var raw = Raw();
        Assert.Equal((long)LocalSecretBackend.SchemaVersion, Scalar(raw, "PRAGMA user_version"));
        Assert.Equal((long)LocalSecretBackend.ApplicationId, Scalar(raw, "PRAGMA application_id"));
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode"));
        Assert.Contains("WITHOUT ROWID", (string)Scalar(raw, "SELECT sql FROM sqlite_schema WHERE name = 'entries'")!, StringComparison.Ordinal);

        using var plan = raw.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN SELECT label, kind FROM entries WHERE namespace = 'alpha' AND label > 'x' ORDER BY label LIMIT 500";
        using var reader = plan.ExecuteReader();
        var steps = new List<string>();
        while (reader.Read())
        {
            steps.Add(reader.GetString(3));
        }

        // An index range search on the primary key, no full scan and no sort.
        Assert.Contains(steps, s => s.Contains("SEARCH entries USING PRIMARY KEY", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.Contains("TEMP B-TREE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Listing_pages_through_large_namespaces_in_order_and_tolerates_deletes()
    {
        await using var backend = _store.Open();
        const int n = 1234; // more than two pages
        for (var i = 0; i < n; i++)
        {
            await backend.PutAsync(Entry("big", $"k{i:D5}", "v"));
        }

        await backend.PutAsync(Entry("bif", "before", "v"));
        await backend.PutAsync(Entry("bih", "after", "v"));

        var labels = (await ToList(backend.ListAsync("big"))).Select(m => m.Key.Label).ToList();
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"k{i:D5}"), labels);

        var all = (await ToList(backend.ListAllAsync())).Select(m => m.Key).ToList();
        Assert.Equal(n + 2, all.Distinct().Count());
        Assert.Equal(all.Count, all.Distinct().Count());

        // Revoke-style: delete every entry while enumerating.
        var deleted = 0;
        await foreach (var m in backend.ListAsync("big"))
        {
            Assert.True(await backend.DeleteAsync(m.Key));
            deleted++;
        }

        Assert.Equal(n, deleted);
        Assert.Empty(await ToList(backend.ListAsync("big")));
        Assert.Equal(2, (await ToList(backend.ListAllAsync())).Count);
    }

    [Fact]
    public async Task Files_are_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        await using var backend = _store.Open();
        await backend.PutAsync(Entry("alpha", "x", "y"));
        await backend.GetAsync(new EntryKey("alpha", "x"));

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(ownerOnly, File.GetUnixFileMode(_store.DbPath));
        Assert.True(File.Exists(_store.DbPath + "-wal"), "WAL mode keeps a -wal file while connections are open");
        Assert.Equal(ownerOnly, File.GetUnixFileMode(_store.DbPath + "-wal"));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(_store.DbPath + "-shm"));
    }

    [Fact]
    public async Task An_existing_file_with_wider_permissions_is_narrowed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        await using (var first = _store.Open())
        {
            await first.PutAsync(Entry("alpha", "x", "y"));
        }

        File.SetUnixFileMode(_store.DbPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var second = _store.Open();
        await second.CheckHealthAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_store.DbPath));
    }

    [Fact]
    public async Task A_corrupted_file_is_backend_unavailable_naming_the_path()
    {
        await File.WriteAllBytesAsync(_store.DbPath, Encoding.ASCII.GetBytes(new string('#', 8192)));
        await using var backend = _store.Open();
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.GetAsync(new EntryKey("alpha", "x")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains(_store.DbPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", ex.Message, StringComparison.Ordinal);
        var health = await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, health.Kind);
    }

    [Fact]
    public async Task A_sqlite_file_of_another_application_is_refused_and_left_alone()
    {
        using (var raw = Raw())
        {
            Scalar(raw, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
        }

        await using var backend = _store.Open();
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains(_store.DbPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not an AgentScope local store", ex.Message, StringComparison.Ordinal);
        await backend.DisposeAsync();

        using var check = Raw();
        Assert.Equal("delete", Scalar(check, "PRAGMA journal_mode")); // not switched to WAL
        Assert.Equal(0L, Scalar(check, "SELECT count(*) FROM sqlite_schema WHERE name = 'entries'"));
    }

    [Fact]
    public async Task A_store_from_a_newer_schema_is_refused()
    {
        await using (var first = _store.Open())
        {
            await first.CheckHealthAsync();
        }

        using (var raw = Raw())
        {
            Scalar(raw, "PRAGMA user_version = 99");
        }

        await using var backend = _store.Open();
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.ListAllAsync().GetAsyncEnumerator().MoveNextAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_blocked_past_the_busy_timeout_is_backend_unavailable_without_the_value()
    {
        await using var backend = _store.Open(TimeSpan.FromMilliseconds(200));
        await backend.CheckHealthAsync();

        using var holder = Raw();
        using var transaction = holder.BeginTransaction(deferred: false); // holds the write lock
        const string secret = "sk_live_do_not_leak_9f8e7d";
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.PutAsync(Entry("alpha", "blocked", secret)).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.NotNull(ex.RetryAfter);
        Assert.Contains(_store.DbPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains("alpha/blocked", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal);

        // Reads are not blocked by a writer (WAL), and the store works again once the lock is released.
        Assert.Null(await backend.GetAsync(new EntryKey("alpha", "blocked")));
        transaction.Rollback();
        await backend.PutAsync(Entry("alpha", "blocked", secret));
        Assert.NotNull(await backend.GetAsync(new EntryKey("alpha", "blocked")));
    }

    [Fact]
    public async Task An_oversize_value_is_refused_without_naming_it()
    {
        await using var backend = _store.Open();
        var value = new byte[backend.Capabilities.MaxValueBytes + 1];
        value.AsSpan().Fill((byte)'z');
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.PutAsync(Entry("alpha", "huge", value)).AsTask());
        Assert.Equal(ErrorKind.ValueTooLarge, ex.Kind);
        Assert.DoesNotContain("zzzz", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_store.DbPath)); // refused before the store was even opened
    }

    [Fact]
    public async Task A_cancelled_call_is_not_run()
    {
        await using var backend = _store.Open();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backend.PutAsync(Entry("alpha", "c", "v"), cts.Token).AsTask());
        Assert.Null(await backend.GetAsync(new EntryKey("alpha", "c")));
    }

    [Fact]
    public async Task Dispose_closes_the_file_and_later_calls_fail()
    {
        var backend = _store.Open();
        await backend.PutAsync(Entry("alpha", "x", "y"));
        await backend.DisposeAsync();
        backend.Dispose(); // idempotent
        await Assert.ThrowsAsync<ObjectDisposedException>(() => backend.GetAsync(new EntryKey("alpha", "x")).AsTask());
        Assert.False(File.Exists(_store.DbPath + "-wal")); // the last connection closed and checkpointed
        File.Delete(_store.DbPath);
    }

    [Fact]
    public async Task Many_parallel_readers_and_writers_share_the_pool()
    {
        await using var backend = _store.Open();
        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var key = new EntryKey("pool", $"k{i % 50}");
            await backend.PutAsync(Entry("pool", key.Label, $"v{i}"), ct);
            Assert.NotNull(await backend.GetAsync(key, ct));
            if (i % 7 == 0)
            {
                await backend.DeleteAsync(key, ct);
            }

            await foreach (var _ in backend.ListAsync("pool", ct))
            {
            }
        });
    }
}
