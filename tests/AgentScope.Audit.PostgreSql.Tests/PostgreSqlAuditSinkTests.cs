using Npgsql;

namespace AgentScope.Audit.PostgreSql.Tests;

[Collection("postgres")]
public sealed class PostgreSqlAuditSinkTests(SharedPostgres postgres) : AuditTablesTest(postgres)
{
    private static AuditEvent[] Sample() =>
    [
        AuditTables.Event(0, agent: "alpha", label: "db-password", action: AuditActions.Write) with { Fingerprint = new string('a', 64), Justification = "rotate", Detail = "v2" },
        AuditTables.Event(1, agent: "alpha", label: "db-password", action: AuditActions.Read),
        AuditTables.Event(2, agent: "beta", label: "stripe-refund", action: AuditActions.Read, outcome: AuditOutcomes.Denied) with { Reason = "policy denies read" },
        AuditTables.Event(3, agent: "beta", label: "missing", action: AuditActions.Delete, outcome: AuditOutcomes.NotFound),
        AuditTables.Event(4, agent: "alpha", label: "stripe-refund", action: AuditActions.Totp, outcome: AuditOutcomes.Error) with { Reason = "backend timeout" },
    ];

    private async Task<PostgreSqlAuditSink> WriteSampleAsync()
    {
        var sink = Tables.Open();
        foreach (var e in Sample())
        {
            await sink.WriteAsync(e);
        }

        return sink;
    }

    private static async Task<List<AuditEvent>> QueryAsync(IAuditTrail trail, AuditQuery query) =>
        [.. (await AuditTables.QueryAsync(trail, query)).Select(e => e with { Seq = null })];

    [PostgresFact]
    public async Task The_schema_is_created_on_first_use_at_the_latest_version_and_reopening_leaves_it_alone()
    {
        var sink = Tables.Open();
        await sink.InitializeAsync();
        await sink.WriteAsync(AuditTables.Event(0));

        var again = Tables.Open();
        await again.InitializeAsync();
        await again.WriteAsync(AuditTables.Event(1));

        Assert.Equal(["1", "2"], await Tables.Server.QueryAsync($"SELECT version FROM {Tables.Schema}.audit_events_schema_version ORDER BY version"));
        Assert.Equal(["1", "2"], await Tables.Server.QueryAsync($"SELECT seq FROM {Tables.Table} ORDER BY seq"));
        var indexes = await Tables.Server.QueryAsync($"SELECT indexname FROM pg_indexes WHERE schemaname = '{Tables.Schema}' AND tablename = 'audit_events' ORDER BY indexname");
        Assert.Equal(["audit_events_action_seq", "audit_events_agent_seq", "audit_events_label_seq", "audit_events_outcome_seq", "audit_events_pkey", "audit_events_time"], indexes);

        // Version 2: reads and successes stay out of the action and outcome indexes, and time is a BRIN index.
        var definitions = await Tables.Server.QueryAsync($"SELECT indexdef FROM pg_indexes WHERE schemaname = '{Tables.Schema}' AND tablename = 'audit_events' ORDER BY indexname");
        Assert.EndsWith("WHERE (action <> 'read'::text)", definitions[0], StringComparison.Ordinal);
        Assert.EndsWith("WHERE (outcome <> 'ok'::text)", definitions[3], StringComparison.Ordinal);
        Assert.Contains("USING brin", definitions[5], StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Sinks_starting_together_migrate_once()
    {
        var sinks = Enumerable.Range(0, 6).Select(_ => Tables.Open()).ToArray();
        await Task.WhenAll(sinks.Select(s => s.InitializeAsync()));
        Assert.Equal(["1", "2"], await Tables.Server.QueryAsync($"SELECT version FROM {Tables.Schema}.audit_events_schema_version ORDER BY version"));
    }

    [PostgresFact]
    public async Task Two_sinks_writing_in_turn_each_append_after_the_others_rows()
    {
        // Each sink sends its next batch hashed onto the head it last wrote; once the other sink has appended, that
        // guess is stale, and the batch must land after the other's rows, not collide with them or fork the chain.
        await using var a = Tables.Open();
        await using var b = Tables.Open();
        var order = new[] { a, b, a, a, b, b, a, b };
        for (var i = 0; i < order.Length; i++)
        {
            await order[i].WriteAsync(AuditTables.Event(i));
        }

        Assert.Equal(Enumerable.Range(1, order.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            await Tables.Server.QueryAsync($"SELECT seq FROM {Tables.Table} ORDER BY seq"));
        Assert.Equal(Enumerable.Range(0, order.Length).Select(i => AuditTables.Event(i).RequestId),
            (await AuditTables.QueryAsync(a, new AuditQuery { Limit = 100 })).Select(e => e.RequestId));
        Assert.Equal(new AuditVerification(true, order.Length, null), await a.VerifyAsync());
        Assert.Equal(new AuditVerification(true, order.Length, null), await b.VerifyAsync());
    }

    [PostgresFact]
    public async Task A_burst_of_writes_is_committed_in_pipelined_batches_as_one_gap_free_chain()
    {
        await using var sink = Tables.Open();
        await sink.InitializeAsync();
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => Task.Run(() => sink.WriteAsync(AuditTables.Event(i)).AsTask())));

        // Every write returned, so every row is committed.
        Assert.Equal(["2000 1 2000"], await Tables.Server.QueryAsync($"SELECT concat_ws(' ', count(*), min(seq), max(seq)) FROM {Tables.Table}"));
        Assert.True(sink.CommittedBatches < 2000, $"{sink.CommittedBatches} transactions for 2000 writes");
        Assert.Equal(new AuditVerification(true, 2000, null), await sink.VerifyAsync());
    }

    [PostgresFact]
    public async Task Every_field_of_an_event_round_trips_through_query()
    {
        await using var sink = await WriteSampleAsync();
        var all = await AuditTables.QueryAsync(sink, new AuditQuery { Limit = 1000 });

        Assert.Equal(Sample(), all.Select(e => e with { Seq = null }));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], all.Select(e => e.Seq!.Value));
        Assert.All(all, e => Assert.Equal(TimeSpan.Zero, e.Time.Offset));
    }

    [PostgresFact]
    public async Task The_rows_chain_exactly_as_the_file_sink_would_so_one_verifier_fits_both()
    {
        // Same events into both sinks: every row's hash equals the file line's hash, byte for byte.
        var dir = Directory.CreateTempSubdirectory("agentscope-pg-vs-file-");
        try
        {
            using var file = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(dir.FullName, "audit.jsonl") });
            await using var sink = Tables.Open();
            var events = Sample().Append(AuditTables.Event(5) with { Detail = "x\",\"hash\":\"}\nnext", Reason = "é ü \u2028 <b>", Time = AuditTables.T0.AddTicks(1234560) });
            foreach (var e in events)
            {
                await file.WriteAsync(e);
                await sink.WriteAsync(e);
            }

            var fileHashes = File.ReadAllLines(Path.Combine(dir.FullName, "audit.jsonl")).Select(l => l[^66..^2]).ToList();
            var rowHashes = await Tables.Server.QueryAsync($"SELECT hash FROM {Tables.Table} ORDER BY seq");
            Assert.Equal<string?>(fileHashes, rowHashes);
            Assert.Equal(new AuditVerification(true, 6, null), await sink.VerifyAsync());
            Assert.Equal(new AuditVerification(true, 6, null), await file.VerifyAsync());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [PostgresFact]
    public async Task Times_are_kept_to_the_microsecond_and_nul_characters_are_replaced_so_the_chain_still_verifies()
    {
        await using var sink = Tables.Open();
        var time = AuditTables.T0.AddTicks(1_234_567); // 0.1234567 s: PostgreSQL keeps 0.123456
        await sink.WriteAsync(AuditTables.Event(0) with { Time = time.ToOffset(TimeSpan.FromHours(2)), Reason = "a\0b" });

        var back = Assert.Single(await QueryAsync(sink, new AuditQuery()));
        Assert.Equal(AuditTables.T0.AddTicks(1_234_560), back.Time);
        Assert.Equal("a\uFFFDb", back.Reason);
        Assert.True((await sink.VerifyAsync()).Valid);
    }

    [PostgresFact]
    public async Task Query_filters_by_agent_label_action_and_outcome()
    {
        await using var sink = await WriteSampleAsync();
        var s = Sample();

        Assert.Equal([s[2], s[3]], await QueryAsync(sink, new AuditQuery { AgentId = "beta" }));
        Assert.Equal([s[2], s[4]], await QueryAsync(sink, new AuditQuery { Label = "stripe-refund" }));
        Assert.Equal([s[1], s[2]], await QueryAsync(sink, new AuditQuery { Action = AuditActions.Read }));
        Assert.Equal([s[2]], await QueryAsync(sink, new AuditQuery { Outcome = AuditOutcomes.Denied }));
        Assert.Equal([s[1]], await QueryAsync(sink, new AuditQuery { AgentId = "alpha", Label = "db-password", Action = AuditActions.Read }));
        Assert.Empty(await QueryAsync(sink, new AuditQuery { AgentId = "nobody" }));
    }

    [PostgresFact]
    public async Task Query_filters_by_time_since_inclusive_until_exclusive()
    {
        await using var sink = await WriteSampleAsync();
        var s = Sample();
        Assert.Equal([s[1], s[2]], await QueryAsync(sink, new AuditQuery { Since = AuditTables.T0.AddMinutes(1), Until = AuditTables.T0.AddMinutes(3) }));
        Assert.Equal([s[4]], await QueryAsync(sink, new AuditQuery { Since = AuditTables.T0.AddMinutes(4).ToOffset(TimeSpan.FromHours(-5)) }));
    }

    [PostgresFact]
    public async Task Query_limits_and_returns_the_newest_oldest_first()
    {
        await using var sink = await WriteSampleAsync();
        var s = Sample();
        Assert.Equal(s[..2], await QueryAsync(sink, new AuditQuery { Limit = 2 }));
        Assert.Equal(s[3..], await QueryAsync(sink, new AuditQuery { Limit = 2, Newest = true }));
        Assert.Equal([s[1], s[4]], await QueryAsync(sink, new AuditQuery { AgentId = "alpha", Limit = 2, Newest = true }));
        Assert.Empty(await QueryAsync(sink, new AuditQuery { Limit = 0 }));
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => QueryAsync(sink, new AuditQuery { Limit = -1 }));
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
    }

    [PostgresFact]
    public async Task Query_pages_by_seq_forwards_and_backwards_across_many_round_trips()
    {
        await using var sink = Tables.Open(o => o.QueryPageSize = 7);
        for (var i = 0; i < 60; i++)
        {
            await sink.WriteAsync(AuditTables.Event(i, agent: i % 3 == 0 ? "alpha" : "beta"));
        }

        // Forward pages of 10 alpha events (read 7 rows per round trip), each page starting after the last seq seen.
        var seen = new List<long>();
        long? after = null;
        while (true)
        {
            var page = await AuditTables.QueryAsync(sink, new AuditQuery { AgentId = "alpha", Limit = 8, AfterSeq = after });
            seen.AddRange(page.Select(e => e.Seq!.Value));
            if (page.Count < 8)
            {
                break;
            }

            after = page[^1].Seq;
        }

        Assert.Equal(Enumerable.Range(0, 60).Where(i => i % 3 == 0).Select(i => (long)i + 1), seen);

        var newest = await AuditTables.QueryAsync(sink, new AuditQuery { Limit = 15, Newest = true });
        var before = await AuditTables.QueryAsync(sink, new AuditQuery { Limit = 15, Newest = true, BeforeSeq = newest[0].Seq });
        Assert.Equal(Enumerable.Range(31, 30).Select(i => (long)i), before.Concat(newest).Select(e => e.Seq!.Value));

        var all = await AuditTables.QueryAsync(sink, new AuditQuery { Limit = 1000 });
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), all.Select(e => e.Seq!.Value));
    }

    [PostgresFact]
    public async Task Filtered_queries_use_the_indexes()
    {
        await using var sink = Tables.Open();
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => sink.WriteAsync(AuditTables.Event(i, agent: "agent-" + (i % 10), label: "label-" + (i % 10))).AsTask()));
        await Tables.Server.ExecuteAsync($"ANALYZE {Tables.Table}");
        foreach (var (column, value, sparse) in new[]
                 {
                     ("agent_id", "'rare'", ""), ("label", "'rare'", ""),
                     ("action", "'sweep'", " AND " + AuditSchema.SparseAction), ("outcome", "'error'", " AND " + AuditSchema.SparseOutcome),
                 })
        {
            // What the sink sends for a filtered page: the filter (with the partial index's predicate), the keyset
            // condition, ORDER BY seq, LIMIT. Prepared statements may get a generic plan, which knows nothing of $1: the
            // partial indexes must be usable even then.
            var filter = $"{column} = $1{sparse} AND seq > 0";
            var plan = string.Join("\n", await Tables.Server.QueryAsync($"""
                PREPARE page_{column}(text) AS SELECT * FROM {Tables.Table} WHERE {filter} ORDER BY seq LIMIT 100;
                SET plan_cache_mode = {(sparse.Length > 0 ? "force_generic_plan" : "force_custom_plan")};
                EXPLAIN EXECUTE page_{column}({value});
                """));
            Assert.Contains($"audit_events_{column.Replace("_id", "", StringComparison.Ordinal)}_seq", plan, StringComparison.Ordinal);
        }
    }

    [PostgresFact]
    public async Task The_table_refuses_update_delete_and_truncate_even_from_its_owner()
    {
        await using var sink = await WriteSampleAsync();
        foreach (var sql in new[] { $"UPDATE {Tables.Table} SET label = 'x'", $"DELETE FROM {Tables.Table}", $"TRUNCATE {Tables.Table}" })
        {
            var ex = await Assert.ThrowsAsync<PostgresException>(() => Tables.Server.ExecuteAsync(sql));
            Assert.Contains("append-only", ex.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(new AuditVerification(true, 5, null), await sink.VerifyAsync());
    }

    [PostgresFact]
    public async Task A_version_1_table_is_migrated_by_its_owner_and_an_append_only_role_is_told_so_meanwhile()
    {
        // A table as version 1 left it: the full action, outcome and time B-tree indexes, and no version 2 row.
        await (await WriteSampleAsync()).DisposeAsync();
        var t = Tables.Table;
        await Tables.Server.ExecuteAsync($"""
            DROP INDEX {Tables.Schema}.audit_events_action_seq, {Tables.Schema}.audit_events_outcome_seq, {Tables.Schema}.audit_events_time;
            CREATE INDEX audit_events_action_seq ON {t} (action, seq);
            CREATE INDEX audit_events_outcome_seq ON {t} (outcome, seq);
            CREATE INDEX audit_events_time ON {t} (time);
            DELETE FROM {Tables.Schema}.audit_events_schema_version WHERE version = 2;
            """);
        var role = "app_" + Tables.Schema;
        await Tables.Server.ExecuteAsync($"""
            CREATE ROLE {role} LOGIN;
            GRANT USAGE ON SCHEMA {Tables.Schema} TO {role};
            GRANT SELECT, INSERT ON {t} TO {role};
            GRANT SELECT ON {Tables.Schema}.audit_events_schema_version TO {role};
            """);

        // The append-only role cannot migrate: it fails closed, saying what it could not do.
        await using (var app = Tables.Open(connectionString: Tables.Server.ConnectionStringFor(role)))
        {
            var ex = await Assert.ThrowsAsync<AgentScopeException>(() => app.InitializeAsync());
            Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
            Assert.Contains("cannot create or migrate the audit table", ex.Message, StringComparison.Ordinal);
            Assert.Contains("42501", ex.Message, StringComparison.Ordinal); // insufficient_privilege
            await Assert.ThrowsAsync<AgentScopeException>(() => app.WriteAsync(AuditTables.Event(8)).AsTask());
        }

        Assert.Equal(["5"], await Tables.Server.QueryAsync($"SELECT count(*) FROM {t}"));

        // The owner migrates it; the rows written before keep their chain, and the role appends again.
        await using (var owner = Tables.Open())
        {
            await owner.InitializeAsync();
        }

        Assert.Equal(["1", "2"], await Tables.Server.QueryAsync($"SELECT version FROM {Tables.Schema}.audit_events_schema_version ORDER BY version"));
        Assert.Contains("USING brin", (await Tables.Server.QueryAsync($"SELECT indexdef FROM pg_indexes WHERE indexname = 'audit_events_time' AND schemaname = '{Tables.Schema}'")).Single(), StringComparison.Ordinal);
        await using var again = Tables.Open(connectionString: Tables.Server.ConnectionStringFor(role));
        await again.WriteAsync(AuditTables.Event(9));
        Assert.Equal(new AuditVerification(true, 6, null), await again.VerifyAsync());
    }

    [PostgresFact]
    public async Task The_readme_grants_make_the_table_append_only_for_the_agentscope_role()
    {
        // The owner creates the schema; the application role gets exactly the README's grants.
        var role = "app_" + Tables.Schema;
        await (await WriteSampleAsync()).DisposeAsync();
        await Tables.Server.ExecuteAsync($"""
            CREATE ROLE {role} LOGIN;
            GRANT USAGE ON SCHEMA {Tables.Schema} TO {role};
            GRANT SELECT, INSERT ON {Tables.Schema}.audit_events TO {role};
            GRANT SELECT ON {Tables.Schema}.audit_events_schema_version TO {role};
            """);

        await using var app = Tables.Open(connectionString: Tables.Server.ConnectionStringFor(role));
        await app.CheckHealthAsync();
        await app.WriteAsync(AuditTables.Event(9));
        Assert.Equal(6, (await AuditTables.QueryAsync(app, new AuditQuery())).Count);
        Assert.Equal(new AuditVerification(true, 6, null), await app.VerifyAsync());

        await using var connection = new NpgsqlConnection(Tables.Server.ConnectionStringFor(role));
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            $"UPDATE {Tables.Table} SET label = 'x'",
            $"DELETE FROM {Tables.Table}",
            $"TRUNCATE {Tables.Table}",
            $"SET session_replication_role = replica",
            $"ALTER TABLE {Tables.Table} DISABLE TRIGGER USER",
            $"DROP TABLE {Tables.Table}",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var ex = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, ex.SqlState);
        }
    }

    [PostgresFact]
    public async Task A_healthy_sink_passes_its_health_check_and_a_closed_one_fails_it_and_refuses_writes()
    {
        var sink = Tables.Open();
        await sink.CheckHealthAsync();
        await sink.DisposeAsync();

        Assert.Equal(ErrorKind.BackendUnavailable, (await Assert.ThrowsAsync<AgentScopeException>(() => sink.CheckHealthAsync().AsTask())).Kind);
        Assert.Equal(ErrorKind.BackendUnavailable, (await Assert.ThrowsAsync<AgentScopeException>(() => sink.WriteAsync(AuditTables.Event(0)).AsTask())).Kind);
    }

    [PostgresFact]
    public async Task Disposing_commits_what_best_effort_writes_queued()
    {
        var sink = Tables.Open(o => o.BestEffort = true);
        for (var i = 0; i < 50; i++)
        {
            await sink.WriteAsync(AuditTables.Event(i));
        }

        await sink.DisposeAsync();
        Assert.Equal(["50"], await Tables.Server.QueryAsync($"SELECT count(*) FROM {Tables.Table}"));
        await using var reader = Tables.Open();
        Assert.Equal(new AuditVerification(true, 50, null), await reader.VerifyAsync());
    }

    [PostgresFact]
    public async Task Best_effort_writes_to_an_unreachable_database_return_at_once_and_are_counted_as_dropped()
    {
        var closedPort = new PostgresServerPort().Port;
        await using var sink = Tables.Open(o => o.BestEffort = true, $"Host=127.0.0.1;Port={closedPort};Username=postgres;Timeout=2");

        await sink.WriteAsync(AuditTables.Event(0));
        await sink.WriteAsync(AuditTables.Event(1));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (sink.DroppedEvents < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(2, sink.DroppedEvents);
    }

    [Fact]
    public void Options_are_validated_together()
    {
        var ex = Assert.Throws<AgentScopeException>(() => new PostgreSqlAuditSink(new PostgreSqlAuditOptions
        {
            ConnectionString = null,
            Schema = "Bad-Schema",
            Table = "x; drop table y",
            MaxBatchSize = 0,
        }));

        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
        Assert.Contains("ConnectionString", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Schema", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Table", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxBatchSize", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>A loopback port nothing listens on (probed, then released).</summary>
internal sealed class PostgresServerPort
{
    public PostgresServerPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        Port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public int Port { get; }
}
