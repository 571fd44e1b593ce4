using System.Data;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentScope.Audit.PostgreSql;

/// <summary>
/// An audit sink writing to a PostgreSQL table, append-only and hash-chained exactly like the JSON-lines file, so an
/// edited, deleted or reordered row is detected by <see cref="VerifyAsync"/> (<c>agentscope audit verify</c>).
/// </summary>
/// <remarks>
/// <para>
/// Each row holds <c>seq</c> (1, 2, 3, ... without gaps), the <see cref="AuditEvent"/> fields (times to the
/// microsecond, as PostgreSQL keeps them), <c>prev</c> (the previous row's hash) and <c>hash</c>: the SHA-256 of prev
/// and of the row's JSON-lines record, the very bytes the file sink would write. The table is only ever inserted into.
/// </para>
/// <para>
/// Durable by default: <see cref="WriteAsync"/> returns once the row's transaction has committed. Concurrent writes are
/// gathered by one writer loop into one transaction (group commit), each caller awaiting its batch's commit; while one
/// batch commits, the next is already sent on a second connection, waiting for the lock (pipelining). Every transaction
/// takes a transaction-level advisory lock and appends only onto the chain's head as it finds it under that lock, so any
/// number of sinks, in any number of processes or servers, append to one valid chain.
/// </para>
/// <para>
/// Fail-closed: when the database cannot be reached or refuses the insert, the write fails with
/// <see cref="AgentScopeException"/> of kind <see cref="ErrorKind.BackendUnavailable"/>, and the core refuses the
/// operation. When it comes back, writes succeed again (stale pooled connections are dropped and the batch retried once,
/// when it is certain it was not committed). <see cref="CheckHealthAsync"/> tells a readiness probe whether it can write.
/// With <see cref="PostgreSqlAuditOptions.BestEffort"/>, writes are queued and not awaited instead.
/// </para>
/// <para>
/// The schema is created or migrated on first use (or by <see cref="InitializeAsync"/>). The chain cannot show rows
/// removed from the end by someone able to delete; grant the AgentScope role INSERT and SELECT only (see the README),
/// and <see cref="VerifyAsync"/> also checks that the rows this instance committed are still there.
/// </para>
/// </remarks>
public sealed class PostgreSqlAuditSink : IAuditSink, IAuditTrail, IAuditHealth, IAsyncDisposable, IDisposable
{
    private const string VerifyHint = "run `agentscope audit verify`";

    // Batches in flight at once: one committing, the next already sent and waiting for the lock.
    private const int PipelineDepth = 2;

    private readonly PostgreSqlAuditOptions _options;
    private readonly AuditSchema _schema;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly Channel<PendingEvent> _queue;
    private readonly Task _writer;
    private readonly Lock _sync = new();
    private readonly string _insertSql;
    private readonly string _headSql;
    private Task? _initialization;
    private long _committedSeq;
    private string _committedHash = AuditRecordFormat.ZeroHash;
    private long _dropped;
    private long _batches;
    private readonly NpgsqlConnection?[] _connections = new NpgsqlConnection?[PipelineDepth]; // the writer's own, kept across batches
    private ChainHead? _head; // the chain's head after the last batch sent; null when it must be read under the lock
    private int _disposed;

    /// <summary>Creates the sink and starts its writer. Does not connect yet: the schema is created or migrated on first use.</summary>
    /// <param name="options">The connection string, table and batching; validated here.</param>
    /// <param name="logger">Where failed commits and dropped best-effort events are logged (never event data).</param>
    /// <exception cref="AgentScopeException">The options are not valid (kind <see cref="ErrorKind.InvalidInput"/>).</exception>
    public PostgreSqlAuditSink(PostgreSqlAuditOptions options, ILogger<PostgreSqlAuditSink>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _schema = new AuditSchema(_options.Schema, _options.Table);

        var builder = new NpgsqlDataSourceBuilder(_options.ConnectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 16; // the writer's three statements are prepared once per connection
        }

        _dataSource = builder.Build();

        var t = _schema.QualifiedTable;
        _headSql = $"SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1";
        // Inserts only onto the head the rows were hashed onto ($15, $16; seq 0 and the zero hash for an empty table).
        _insertSql = $"""
            WITH head AS (SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1)
            INSERT INTO {t} ({AuditSchema.Columns})
            SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
            WHERE coalesce((SELECT seq FROM head), 0) = $15 AND coalesce((SELECT hash FROM head), '{AuditRecordFormat.ZeroHash}') = $16
            """;

        _queue = Channel.CreateBounded<PendingEvent>(new BoundedChannelOptions(_options.MaxQueueLength)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The schema and table written to.</summary>
    public string TableName => _options.Schema + "." + _options.Table;

    /// <summary>How many transactions the writer committed (test hook: group commit makes it smaller than the events).</summary>
    internal long CommittedBatches => Interlocked.Read(ref _batches);

    /// <summary>With <see cref="PostgreSqlAuditOptions.BestEffort"/>, how many events were dropped (queue full or commit failed).</summary>
    public long DroppedEvents => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Creates or migrates the audit table now rather than on first use (a server calls it at start, so a bad connection
    /// string shows at once). With the table current, it only reads, so an INSERT/SELECT-only role can run it.
    /// </summary>
    /// <exception cref="AgentScopeException">The database cannot be reached or the schema cannot be created (kind <see cref="ErrorKind.BackendUnavailable"/>).</exception>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => EnsureInitializedAsync(cancellationToken);

    /// <summary>
    /// Appends <paramref name="auditEvent"/> as the next row of the chain. Returns once its transaction has committed
    /// (unless <see cref="PostgreSqlAuditOptions.BestEffort"/>, where it returns once the event is queued).
    /// Cancelling stops the wait, not the write: a queued event is still committed.
    /// </summary>
    /// <exception cref="AgentScopeException">The row could not be committed (kind <see cref="ErrorKind.BackendUnavailable"/>); the message never holds event data.</exception>
    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentNullException.ThrowIfNull(auditEvent.Actor);
        ArgumentNullException.ThrowIfNull(auditEvent.Action);
        ArgumentNullException.ThrowIfNull(auditEvent.Outcome);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromException(Closed());
        }

        if (_options.BestEffort)
        {
            if (!_queue.Writer.TryWrite(new PendingEvent(auditEvent, null)))
            {
                var dropped = Interlocked.Increment(ref _dropped);
                _logger.LogWarning("PostgreSQL audit sink: queue full, a best-effort audit event was dropped ({Dropped} so far)", dropped);
            }

            return ValueTask.CompletedTask;
        }

        var pending = new PendingEvent(auditEvent, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return _queue.Writer.TryWrite(pending)
            ? new ValueTask(pending.Committed!.Task.WaitAsync(cancellationToken))
            : WriteSlowAsync(pending, cancellationToken);
    }

    private async ValueTask WriteSlowAsync(PendingEvent pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw Closed();
        }

        await pending.Committed!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The events matching <paramref name="query"/>, oldest first, read page by page through the indexes (keyset on
    /// <c>seq</c>): the first <see cref="AuditQuery.Limit"/> matches after <see cref="AuditQuery.AfterSeq"/>, or with
    /// <see cref="AuditQuery.Newest"/> the last ones before <see cref="AuditQuery.BeforeSeq"/>. Does not check hashes.
    /// </summary>
    /// <exception cref="AgentScopeException">The database cannot be read (kind <see cref="ErrorKind.BackendUnavailable"/>), or the limit is negative (<see cref="ErrorKind.InvalidInput"/>).</exception>
    public async IAsyncEnumerable<AuditEvent> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit < 0)
        {
            throw AgentScopeException.InvalidInput("audit query limit must not be negative");
        }

        if (query.Limit == 0)
        {
            yield break;
        }

        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var remaining = query.Limit;
        if (!query.Newest)
        {
            var after = query.AfterSeq;
            while (remaining > 0)
            {
                var size = Math.Min(remaining, _options.QueryPageSize);
                var page = await ReadPageAsync(query, after, query.BeforeSeq, descending: false, size, cancellationToken).ConfigureAwait(false);
                foreach (var e in page)
                {
                    yield return e;
                }

                if (page.Count < size)
                {
                    yield break;
                }

                remaining -= page.Count;
                after = page[^1].Seq;
            }

            yield break;
        }

        // Newest: walk backwards from the end, then hand the events back oldest first.
        var newest = new List<AuditEvent>(Math.Min(remaining, 4096));
        var before = query.BeforeSeq;
        while (remaining > 0)
        {
            var size = Math.Min(remaining, _options.QueryPageSize);
            var page = await ReadPageAsync(query, query.AfterSeq, before, descending: true, size, cancellationToken).ConfigureAwait(false);
            newest.AddRange(page);
            if (page.Count < size)
            {
                break;
            }

            remaining -= page.Count;
            before = page[^1].Seq;
        }

        for (var i = newest.Count - 1; i >= 0; i--)
        {
            yield return newest[i];
        }
    }

    /// <summary>
    /// Streams the whole table in <c>seq</c> order and re-computes the chain: consecutive seqs from 1, each prev equal
    /// to the hash before it, each hash equal to the hash of its row. So an UPDATE, a DELETE (except of the newest rows)
    /// or a reordering done directly in SQL is reported, naming the first row that breaks. Also checks that the newest
    /// row this instance committed is still there, unchanged.
    /// </summary>
    /// <exception cref="AgentScopeException">The database cannot be read (kind <see cref="ErrorKind.BackendUnavailable"/>).</exception>
    public async ValueTask<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        long committedSeq;
        string committedHash;
        lock (_sync)
        {
            committedSeq = _committedSeq;
            committedHash = _committedHash;
        }

        using var chain = new AuditChainVerifier(committedSeq);
        using var serializer = new AuditRecordSerializer();
        var claimed = new byte[AuditRecordFormat.HashHexLength];
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"SELECT {AuditSchema.Columns} FROM {_schema.QualifiedTable} ORDER BY seq", connection);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            long row = 0;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                row++;
                var record = ReadRecord(reader);
                var hash = reader.GetString(13);
                if (!AuditRecordFormat.IsLowerHex(hash))
                {
                    return new AuditVerification(false, chain.Events, $"row {row} (seq {record.Seq}): its hash is not a SHA-256 hex string (the record was edited)");
                }

                Encoding.ASCII.GetBytes(hash, claimed);
                var problem = chain.Check($"row {row}", record, serializer.BodyWithoutBrace(record), claimed);
                if (problem is not null)
                {
                    return new AuditVerification(false, chain.Events, problem);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not AgentScopeException)
        {
            throw Unavailable(ex, "cannot read the audit table");
        }

        if (committedSeq > chain.Events)
        {
            return new AuditVerification(false, chain.Events,
                $"the trail ends at seq {chain.Events} but this sink committed seq {committedSeq}: records were removed from the end");
        }

        if (chain.HashAtWatchedSeq != committedHash)
        {
            return new AuditVerification(false, chain.Events,
                $"the row at seq {committedSeq} is not the one this sink committed: the end of the trail was rewritten");
        }

        return new AuditVerification(true, chain.Events, null);
    }

    /// <summary>
    /// Checks that the sink can write: it is open, the audit table exists (creating it if needed) and a connection can
    /// read it. For readiness probes.
    /// </summary>
    /// <exception cref="AgentScopeException">It cannot (kind <see cref="ErrorKind.BackendUnavailable"/>), with the reason.</exception>
    public async ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw Closed();
        }

        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"SELECT 1 FROM {_schema.QualifiedTable} LIMIT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Unavailable(ex, "cannot reach the audit table");
        }
    }

    /// <summary>Stops accepting events, commits those already queued (or fails them), and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        for (var slot = 0; slot < PipelineDepth; slot++)
        {
            await CloseConnectionAsync(slot).ConfigureAwait(false);
        }

        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        var initialization = _initialization;
        if (initialization is not { IsCompletedSuccessfully: true })
        {
            lock (_sync)
            {
                // A failed attempt (database down at start) is retried by the next caller.
                if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
                {
                    _initialization = InitializeCoreAsync();
                }

                initialization = _initialization;
            }
        }

        return initialization.IsCompletedSuccessfully ? Task.CompletedTask : initialization.WaitAsync(cancellationToken);
    }

    private async Task InitializeCoreAsync()
    {
        try
        {
            await _schema.MigrateAsync(_dataSource, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Unavailable(ex, "cannot create or migrate the audit table");
        }
    }

    /// <summary>
    /// The single writer: takes what is queued (up to a batch) and sends it as one transaction; while that commits, what
    /// arrives meanwhile is sent as the next one on a second connection, so the database is never idle waiting for this
    /// process between commits. Batches are completed in order; each caller learns its batch's outcome.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var inFlight = new Queue<Commit>(PipelineDepth);
        using var serializer = new AuditRecordSerializer();
        Task<bool>? arrival = null;
        var open = true;
        while (open || inFlight.Count > 0)
        {
            // A batch hashed onto a head read under the lock must not overtake one still in flight.
            var canSend = open && inFlight.Count < PipelineDepth && (_head is not null || inFlight.Count == 0);
            if (canSend)
            {
                if (reader.TryPeek(out _))
                {
                    var batch = Drain(reader);
                    if (_options.MaxBatchDelay > TimeSpan.Zero && batch.Count < _options.MaxBatchSize)
                    {
                        await Task.Delay(_options.MaxBatchDelay).ConfigureAwait(false);
                        Drain(reader, batch);
                    }

                    inFlight.Enqueue(await SendAsync(batch, serializer, FreeSlot(inFlight), attempt: 1).ConfigureAwait(false));
                    continue;
                }

                arrival ??= reader.WaitToReadAsync().AsTask();
                if (inFlight.Count == 0 || await Task.WhenAny(arrival, inFlight.Peek().Execution).ConfigureAwait(false) == arrival)
                {
                    open = await arrival.ConfigureAwait(false);
                    arrival = null;
                    continue;
                }
            }

            await CompleteAsync(inFlight.Dequeue(), serializer).ConfigureAwait(false);
        }
    }

    private List<PendingEvent> Drain(ChannelReader<PendingEvent> reader, List<PendingEvent>? batch = null)
    {
        batch ??= [];
        while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var pending))
        {
            batch.Add(pending);
        }

        return batch;
    }

    private static int FreeSlot(Queue<Commit> inFlight)
    {
        for (var slot = 0; ; slot++)
        {
            if (!inFlight.Any(c => c.Slot == slot))
            {
                return slot;
            }
        }
    }

    /// <summary>
    /// Sends one batch as one transaction on the connection of <paramref name="slot"/>, without waiting for its commit.
    /// The transaction first takes an advisory lock serialising every writer of the table, in every process, so the chain
    /// stays one. When the chain's head is known (this sink sent the batch before), that is one round trip: BEGIN, lock,
    /// INSERT every row, COMMIT. The INSERT inserts only if the head is still the one the rows were hashed onto; if another
    /// writer appended meanwhile, or the batch before did not commit, it inserts nothing and the batch is sent again by
    /// <see cref="CompleteAsync"/>, hashed onto the head read under the lock (two round trips, as for the first batch).
    /// </summary>
    private async Task<Commit> SendAsync(List<PendingEvent> events, AuditRecordSerializer serializer, int slot, int attempt)
    {
        var commit = new Commit(events, slot, attempt);
        try
        {
            await EnsureInitializedAsync(CancellationToken.None).ConfigureAwait(false);
            var connection = _connections[slot] ??= await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            var append = new NpgsqlBatch(connection);
            commit.Batch = append;
            if (_head is not { } head)
            {
                await using var begin = new NpgsqlBatch(connection);
                AddBegin(begin);
                begin.BatchCommands.Add(new NpgsqlBatchCommand(_headSql));
                head = await ReadHeadAsync(begin).ConfigureAwait(false);
            }
            else
            {
                AddBegin(append);
            }

            (commit.Insert, commit.Last) = Insert(events, serializer, head);
            append.BatchCommands.Add(commit.Insert);
            append.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            commit.Sent = true;
            commit.Execution = append.ExecuteNonQueryAsync();
            _head = commit.Last;
        }
        catch (Exception ex)
        {
            _head = null;
            commit.Execution = Task.FromException<int>(ex);
        }

        return commit;
    }

    /// <summary>
    /// Waits for one batch's commit and completes its callers. A batch whose INSERT found another head is sent again,
    /// hashed onto the head read under the lock; a batch that failed before it was sent is sent once more on a new
    /// connection; any other failure fails its callers (once a COMMIT is sent its outcome is unknown, so it is not retried).
    /// </summary>
    private async Task CompleteAsync(Commit commit, AuditRecordSerializer serializer)
    {
        while (true)
        {
            try
            {
                await commit.Execution.ConfigureAwait(false);
                if (commit.Insert!.RecordsAffected == commit.Events.Count)
                {
                    await DisposeBatchAsync(commit).ConfigureAwait(false);
                    Committed(commit);
                    return;
                }

                // The head moved: nothing was inserted (the transaction committed empty).
                _head = null;
                await DisposeBatchAsync(commit).ConfigureAwait(false);
                commit = await SendAsync(commit.Events, serializer, commit.Slot, commit.Attempt).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The transaction, if any, dies with the connection; the next batch opens a fresh one and reads the head.
                _head = null;
                await DisposeBatchAsync(commit).ConfigureAwait(false);
                await CloseConnectionAsync(commit.Slot).ConfigureAwait(false);
                if (commit.Attempt > 1 || commit.Sent || ex is not NpgsqlException { IsTransient: true })
                {
                    Failed(commit.Events, ex);
                    return;
                }

                // Most likely a connection the server closed (it restarted): drop idle pooled ones and try once more.
                // Safe, because nothing was sent.
                _logger.LogWarning(ex, "PostgreSQL audit sink: transient failure before commit, retrying once with a new connection");
                _dataSource.Clear();
                commit = await SendAsync(commit.Events, serializer, commit.Slot, commit.Attempt + 1).ConfigureAwait(false);
            }
        }
    }

    private void Committed(Commit commit)
    {
        Interlocked.Increment(ref _batches);
        lock (_sync)
        {
            if (commit.Last.Seq > _committedSeq)
            {
                _committedSeq = commit.Last.Seq;
                _committedHash = commit.Last.Hash;
            }
        }

        foreach (var pending in commit.Events)
        {
            pending.Committed?.TrySetResult();
        }
    }

    private void Failed(List<PendingEvent> events, Exception ex)
    {
        _logger.LogError(ex, "PostgreSQL audit sink could not commit {Count} audit events to {Table}", events.Count, TableName);
        var dropped = 0;
        foreach (var pending in events)
        {
            if (pending.Committed is null)
            {
                dropped++;
            }
            else
            {
                pending.Committed.TrySetException(Unavailable(ex, "cannot record to PostgreSQL"));
            }
        }

        if (dropped > 0)
        {
            _logger.LogWarning("PostgreSQL audit sink dropped {Count} best-effort audit events ({Dropped} so far)", dropped, Interlocked.Add(ref _dropped, dropped));
        }
    }

    private static ValueTask DisposeBatchAsync(Commit commit) => commit.Batch?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>BEGIN (read committed, whatever the database's default: after the lock, each statement sees the latest head), and the lock.</summary>
    private void AddBegin(NpgsqlBatch batch)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL READ COMMITTED"));
        if (_options.AsynchronousCommit)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
        }

        var lockCommand = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)");
        lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _schema.WriteLockKey });
        batch.BatchCommands.Add(lockCommand);
    }

    /// <summary>Runs BEGIN, the lock and the head query, and returns the head; the transaction stays open.</summary>
    private static async Task<ChainHead> ReadHeadAsync(NpgsqlBatch begin)
    {
        await using var reader = await begin.ExecuteReaderAsync().ConfigureAwait(false);
        // Skip the results of BEGIN, SET and the lock, up to the head's.
        while (reader.FieldCount != 2 || reader.GetName(0) != "seq")
        {
            if (!await reader.NextResultAsync().ConfigureAwait(false))
            {
                throw new InvalidOperationException("the head of the audit chain was not returned");
            }
        }

        return await reader.ReadAsync().ConfigureAwait(false)
            ? new ChainHead(reader.GetInt64(0), reader.GetString(1))
            : new ChainHead(0, AuditRecordFormat.ZeroHash);
    }

    /// <summary>The batch hashed onto <paramref name="head"/>, as one INSERT that inserts only onto that head; and the new head.</summary>
    private (NpgsqlBatchCommand Insert, ChainHead Last) Insert(List<PendingEvent> batch, AuditRecordSerializer serializer, ChainHead head)
    {
        var n = batch.Count;
        var seqs = new long[n];
        var times = new DateTime[n];
        var hashes = new string[n];
        var columns = new string?[11][];
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c] = new string?[n];
        }

        var (lastSeq, lastHash) = head;
        for (var i = 0; i < n; i++)
        {
            var record = AuditRecord.From(Storable(batch[i].Event), lastSeq + 1, lastHash);
            var hash = serializer.Hash(record);
            seqs[i] = record.Seq;
            times[i] = record.Time;
            hashes[i] = hash;
            columns[0][i] = record.Actor;
            columns[1][i] = record.Action;
            columns[2][i] = record.AgentId;
            columns[3][i] = record.Label;
            columns[4][i] = record.Outcome;
            columns[5][i] = record.Reason;
            columns[6][i] = record.Justification;
            columns[7][i] = record.RequestId;
            columns[8][i] = record.Fingerprint;
            columns[9][i] = record.Detail;
            columns[10][i] = record.Prev;
            lastSeq = record.Seq;
            lastHash = hash;
        }

        var insert = new NpgsqlBatchCommand(_insertSql);
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = seqs });
        insert.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = times });
        foreach (var column in columns)
        {
            insert.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = column });
        }

        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = hashes });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = head.Seq });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = head.Hash });
        return (insert, new ChainHead(lastSeq, lastHash));
    }

    private async Task CloseConnectionAsync(int slot)
    {
        if (_connections[slot] is { } connection)
        {
            _connections[slot] = null;
            try
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
            {
                _logger.LogDebug(ex, "PostgreSQL audit sink: error while closing a failed connection");
            }
        }
    }

    private async Task<List<AuditEvent>> ReadPageAsync(AuditQuery query, long? after, long? before, bool descending, int size, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand { Connection = connection };
            var where = new List<string>();
            void Filter(string condition, NpgsqlParameter? parameter)
            {
                if (parameter is not null)
                {
                    command.Parameters.Add(parameter);
                    where.Add(condition + " $" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            // Only the filters given become conditions, so each query can use the index of its column.
            Filter("agent_id =", query.AgentId is { } agent ? new NpgsqlParameter<string> { TypedValue = agent } : null);
            Filter("label =", query.Label is { } label ? new NpgsqlParameter<string> { TypedValue = label } : null);
            Filter("action =", query.Action is { } action ? new NpgsqlParameter<string> { TypedValue = action } : null);
            Filter("outcome =", query.Outcome is { } outcome ? new NpgsqlParameter<string> { TypedValue = outcome } : null);

            // The action and outcome indexes are partial; stating their predicate lets any plan, generic ones included, use them.
            if (query.Action is not null and not AuditActions.Read)
            {
                where.Add(AuditSchema.SparseAction);
            }

            if (query.Outcome is not null and not AuditOutcomes.Ok)
            {
                where.Add(AuditSchema.SparseOutcome);
            }
            Filter("time >=", query.Since is { } since ? new NpgsqlParameter<DateTime> { TypedValue = since.UtcDateTime } : null);
            Filter("time <", query.Until is { } until ? new NpgsqlParameter<DateTime> { TypedValue = until.UtcDateTime } : null);
            Filter("seq >", after is { } a ? new NpgsqlParameter<long> { TypedValue = a } : null);
            Filter("seq <", before is { } b ? new NpgsqlParameter<long> { TypedValue = b } : null);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = size });
            command.CommandText = $"SELECT {AuditSchema.Columns} FROM {_schema.QualifiedTable}"
                + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
                + $" ORDER BY seq {(descending ? "DESC" : "ASC")} LIMIT ${command.Parameters.Count}";

            var page = new List<AuditEvent>(Math.Min(size, 1024));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                page.Add(ReadRecord(reader).ToEvent());
            }

            return page;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Unavailable(ex, "cannot query the audit table");
        }
    }

    /// <summary>A row as the record the chain hashes (columns in <see cref="AuditSchema.Columns"/> order; the hash is not read).</summary>
    private static AuditRecord ReadRecord(NpgsqlDataReader reader) => new()
    {
        Seq = reader.GetInt64(0),
        Time = DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc),
        Actor = reader.GetString(2),
        Action = reader.GetString(3),
        AgentId = NullableString(reader, 4),
        Label = NullableString(reader, 5),
        Outcome = reader.GetString(6),
        Reason = NullableString(reader, 7),
        Justification = NullableString(reader, 8),
        RequestId = NullableString(reader, 9),
        Fingerprint = NullableString(reader, 10),
        Detail = NullableString(reader, 11),
        Prev = reader.GetString(12),
    };

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>
    /// The event as PostgreSQL can hold it exactly, so the hash computed now matches the row read back: the time cut to
    /// microseconds (PostgreSQL's precision) and NUL characters (which text cannot hold) replaced.
    /// </summary>
    private static AuditEvent Storable(AuditEvent e)
    {
        var ticks = e.Time.UtcTicks;
        var time = new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
        var clean = e.Time == time && e.Time.Offset == TimeSpan.Zero ? e : e with { Time = time };
        if (!HasNul(e.Actor) && !HasNul(e.Action) && !HasNul(e.AgentId) && !HasNul(e.Label) && !HasNul(e.Outcome) && !HasNul(e.Reason)
            && !HasNul(e.Justification) && !HasNul(e.RequestId) && !HasNul(e.Fingerprint) && !HasNul(e.Detail))
        {
            return clean;
        }

        return clean with
        {
            Actor = NoNul(e.Actor)!,
            Action = NoNul(e.Action)!,
            AgentId = NoNul(e.AgentId),
            Label = NoNul(e.Label),
            Outcome = NoNul(e.Outcome)!,
            Reason = NoNul(e.Reason),
            Justification = NoNul(e.Justification),
            RequestId = NoNul(e.RequestId),
            Fingerprint = NoNul(e.Fingerprint),
            Detail = NoNul(e.Detail),
        };

        static bool HasNul(string? s) => s is not null && s.Contains('\0', StringComparison.Ordinal);
        static string? NoNul(string? s) => s?.Replace('\0', '\uFFFD');
    }

    private static AgentScopeException Closed() => AgentScopeException.Unavailable("audit sink unavailable: the PostgreSQL audit sink is closed");

    private static AgentScopeException Unavailable(Exception ex, string what) => ex as AgentScopeException
        ?? AgentScopeException.Unavailable($"audit sink unavailable: {what}: {Describe(ex)}", ex);

    private static string Describe(Exception ex) => ex switch
    {
        PostgresException pg => $"PostgreSQL error {pg.SqlState}: {pg.MessageText}",
        NpgsqlException { InnerException: { } inner } => $"{ex.Message} ({inner.Message})",
        _ => ex.Message,
    };

    private sealed record PendingEvent(AuditEvent Event, TaskCompletionSource? Committed);

    private readonly record struct ChainHead(long Seq, string Hash);

    /// <summary>One batch sent as one transaction: its events, the connection slot, and the head it leaves when committed.</summary>
    private sealed class Commit(List<PendingEvent> events, int slot, int attempt)
    {
        public List<PendingEvent> Events { get; } = events;

        public int Slot { get; } = slot;

        public int Attempt { get; } = attempt;

        public NpgsqlBatch? Batch { get; set; }

        public NpgsqlBatchCommand? Insert { get; set; }

        public ChainHead Last { get; set; }

        /// <summary>True once the transaction's commands went out: its outcome is then unknown if the connection fails.</summary>
        public bool Sent { get; set; }

        public Task Execution { get; set; } = Task.CompletedTask;
    }
}
