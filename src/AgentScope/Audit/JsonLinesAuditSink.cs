using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace AgentScope.Audit;

/// <summary>
/// The default audit sink: an append-only JSON-lines file whose records are hash-chained, so that an edited,
/// removed, reordered or cut-off record is detected by <see cref="VerifyAsync"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each line is one JSON object: <c>seq</c> (1, 2, 3, ...), the <see cref="AuditEvent"/> fields in camelCase
/// (<c>time</c> as ISO-8601 UTC, null fields omitted), <c>prev</c> (the previous record's hash, 64 zeros for the
/// first) and, last, <c>hash</c>: the hex SHA-256 of the prev hash followed by the exact bytes of the line without
/// its hash field. A sidecar anchor file, <c>&lt;path&gt;.head</c>, holds the last sequence number and hash, so
/// removing records from the end is detected too.
/// </para>
/// <para>
/// Safe for many threads, for several instances on one path, and for several processes on one file (say a CLI and
/// a server): each append holds an in-process gate and an OS lock on <c>&lt;path&gt;.lock</c>, and picks up the last
/// record of any other writer first, so the file stays one valid chain. The log is kept open; an append is one
/// <c>fstat</c> (has another writer appended?), one write of the record and one in-place overwrite of the anchor (plus
/// fsync of both when <see cref="JsonLinesAuditOptions.Durable"/>). The OS lock is leased: a process keeps it across
/// appends until it is idle for a millisecond or another process signals that it is waiting, which then gets its
/// turn within about a millisecond (see <see cref="AuditFileLock"/>).
/// </para>
/// <para>
/// Group commit: a writer that finds the gate taken queues its record and waits for the gate; whoever holds the gate
/// appends its own record and every one queued meanwhile with that single write and anchor update. A waiting writer
/// whose record was appended that way returns as soon as it gets the gate, without touching the files. So concurrent
/// writers share the cost of the lock and the I/O, and a write still returns only once its record is written.
/// </para>
/// <para>
/// Fail-closed: any failure to append throws <see cref="AgentScopeException"/> of kind
/// <see cref="ErrorKind.BackendUnavailable"/>, and the core then refuses the operation. The sink also refuses to
/// append when the log is shorter than its anchor records, rather than overwrite the evidence of a cut tail.
/// Rotating the log requires stopping its writers; a writer keeps appending to the file it opened.
/// </para>
/// </remarks>
public sealed class JsonLinesAuditSink : IAuditSink, IAuditTrail, IAuditHealth, IDisposable
{
    private const string VerifyHint = "run `agentscope audit verify`";

    private readonly string _path;
    private readonly bool _durable;
    private readonly TimeSpan _lockTimeout;
    private readonly TimeProvider _time;
    private readonly AuditFileLock _fileLock;
    private readonly FileStream _log;
    private readonly FileStream _anchor;

    // The streams' handles, taken once: every read of FileStream.SafeFileHandle re-seeks the descriptor to the stream's
    // position (an lseek system call each time), and the sink only ever does positioned I/O through RandomAccess.
    private readonly SafeFileHandle _logHandle;
    private readonly SafeFileHandle _anchorHandle;

    // Writer state, touched only while holding _fileLock.Gate.
    private readonly AuditRecordSerializer _serializer = new();
    private readonly byte[] _lastHashAscii = new byte[AuditRecordFormat.HashHexLength];
    private readonly byte[] _anchorBuffer = new byte[AuditRecordFormat.AnchorSize];
    private byte[] _line = new byte[1024];
    private string _lastHash = AuditRecordFormat.ZeroHash;
    private long _lastSeq;
    private long _knownLength = -1; // -1: re-read the tail before the next append
    private bool _disposed;

    // Records of writers waiting for the gate, appended by whoever holds it (see the remarks).
    private const int MaxBatch = 256;
    private readonly ConcurrentQueue<Queued> _queue = new();
    private readonly List<Queued> _batch = new(MaxBatch);
    private readonly ArrayBufferWriter<byte> _batchLines = new(4096);

    /// <summary>Opens (creating when missing) the audit log at <see cref="JsonLinesAuditOptions.Path"/>.</summary>
    /// <param name="options">Where the log lives and how durable an append is.</param>
    /// <param name="timeProvider">The clock used while waiting for another writer's lock; the system clock by default.</param>
    /// <exception cref="AgentScopeException">The log, its anchor or its lock file cannot be created or opened (kind <see cref="ErrorKind.BackendUnavailable"/>).</exception>
    public JsonLinesAuditSink(JsonLinesAuditOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Path);
        if (options.LockTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "LockTimeout must be positive.");
        }

        _durable = options.Durable;
        _lockTimeout = options.LockTimeout;
        _time = timeProvider ?? TimeProvider.System;
        Encoding.ASCII.GetBytes(AuditRecordFormat.ZeroHash, _lastHashAscii);

        AuditFileLock? fileLock = null;
        FileStream? anchor = null;
        try
        {
            _path = Path.GetFullPath(options.Path);
            var directory = Path.GetDirectoryName(_path);
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

            fileLock = AuditFileLock.Acquire(_path + ".lock", options.UseExclusiveOpenLock);
            anchor = OpenShared(_path + ".head"); // before the log, so no record is ever written without an anchor
            _log = OpenShared(_path);
            _anchor = anchor;
            _logHandle = _log.SafeFileHandle;
            _anchorHandle = _anchor.SafeFileHandle;
            _fileLock = fileLock;
        }
        catch (Exception ex)
        {
            anchor?.Dispose();
            fileLock?.Release();
            _serializer.Dispose();
            throw AgentScopeException.Unavailable("audit sink unavailable: cannot open the audit log", ex);
        }
    }

    /// <summary>The full path of the audit log.</summary>
    public string FilePath => _path;

    /// <summary>
    /// Appends <paramref name="auditEvent"/> as the next record of the chain. Returns once the record is written
    /// (and, when <see cref="JsonLinesAuditOptions.Durable"/>, flushed to stable storage).
    /// </summary>
    /// <exception cref="AgentScopeException">The record could not be appended (kind <see cref="ErrorKind.BackendUnavailable"/>); the message never holds event data.</exception>
    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentNullException.ThrowIfNull(auditEvent.Actor);
        ArgumentNullException.ThrowIfNull(auditEvent.Action);
        ArgumentNullException.ThrowIfNull(auditEvent.Outcome);

        // Fast path: gate and OS lock both free, no await.
        if (!_fileLock.Gate.Wait(0, CancellationToken.None))
        {
            return WriteQueuedAsync(new Queued(auditEvent), cancellationToken);
        }

        var handedOff = false;
        try
        {
            ThrowIfDisposed(); // before touching the lock, which a disposed sink no longer references
            if (!_fileLock.TryEnter())
            {
                handedOff = true;
                return WriteSlowAsync(auditEvent, cancellationToken);
            }

            try
            {
                AppendLocked(auditEvent);
            }
            finally
            {
                _fileLock.Exit();
            }

            return ValueTask.CompletedTask;
        }
        catch (AgentScopeException ex)
        {
            return ValueTask.FromException(ex); // fail the task, as the slow path does, rather than throw synchronously
        }
        finally
        {
            if (!handedOff)
            {
                _fileLock.Gate.Release();
            }
        }
    }

    /// <summary>
    /// Streams the log and returns the events matching <paramref name="query"/>, oldest first: the first
    /// <see cref="AuditQuery.Limit"/> matches, or the last ones when <see cref="AuditQuery.Newest"/> is set. Does not
    /// check hashes (see <see cref="VerifyAsync"/>).
    /// </summary>
    /// <exception cref="AgentScopeException">The log cannot be read or holds a record that is not valid (kind <see cref="ErrorKind.BackendUnavailable"/>), or the limit is negative (<see cref="ErrorKind.InvalidInput"/>).</exception>
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

        var (length, _) = await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        var newest = query.Newest ? new Queue<AuditEvent>(Math.Min(query.Limit, 1024)) : null;
        var returned = 0;
        await foreach (var line in ReadLinesAsync(length, cancellationToken).ConfigureAwait(false))
        {
            var record = line.Terminated ? AuditRecordFormat.TryParse(line.Bytes.Span) : null;
            if (record is null)
            {
                throw AgentScopeException.Unavailable($"audit log line {line.Number} is not a valid audit record; {VerifyHint}");
            }

            if (record.Seq >= query.BeforeSeq)
            {
                break;
            }

            var auditEvent = record.ToEvent();
            if (!Matches(query, auditEvent))
            {
                continue;
            }

            if (newest is not null)
            {
                if (newest.Count == query.Limit)
                {
                    newest.Dequeue();
                }

                newest.Enqueue(auditEvent);
                continue;
            }

            yield return auditEvent;
            if (++returned == query.Limit)
            {
                yield break;
            }
        }

        if (newest is not null)
        {
            foreach (var auditEvent in newest)
            {
                yield return auditEvent;
            }
        }
    }

    /// <summary>
    /// Re-reads the whole log and re-computes the chain: every line must be a valid record, carry the next sequence
    /// number, link to the previous record's hash and hash to its own content; the anchor must agree with the end of
    /// the log. Reports the first problem found, naming its line.
    /// </summary>
    /// <exception cref="AgentScopeException">The log or its anchor cannot be read (kind <see cref="ErrorKind.BackendUnavailable"/>).</exception>
    public async ValueTask<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        var (length, anchorBytes) = await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        var anchor = AuditRecordFormat.TryParseAnchor(anchorBytes);
        if (anchor is null)
        {
            return new AuditVerification(false, 0, $"the anchor file {Path.GetFileName(_path)}.head is not readable");
        }

        using var chain = new ChainVerifier(anchor.Seq);
        long lineNumber = 0;
        await foreach (var line in ReadLinesAsync(length, cancellationToken).ConfigureAwait(false))
        {
            lineNumber = line.Number;
            var problem = chain.Check(line);
            if (problem is not null)
            {
                return new AuditVerification(false, chain.Events, problem);
            }
        }

        var events = chain.Events;
        if (anchor.Seq > events)
        {
            return new AuditVerification(false, events, events == 0
                ? $"the log is empty but its anchor records seq {anchor.Seq}: records were removed from the end"
                : $"the log ends at seq {events} (line {lineNumber}) but its anchor records seq {anchor.Seq}: records were removed from the end");
        }

        // The anchor is rewritten right after each record, so it may lag by one record after a crash, never more.
        if (anchor.Seq < events - 1)
        {
            return new AuditVerification(false, events,
                $"the anchor records seq {anchor.Seq} but the log continues to seq {events} (line {lineNumber}): records were added after the anchor or the anchor was replaced");
        }

        if (chain.HashAtAnchorSeq != anchor.Hash)
        {
            return new AuditVerification(false, events,
                $"the anchor's hash for seq {anchor.Seq} does not match line {anchor.Seq}: the end of the log was rewritten");
        }

        return new AuditVerification(true, events, null);
    }

    /// <summary>Closes the log. Later calls fail with a typed "unavailable" error.</summary>
    public void Dispose()
    {
        _fileLock.Gate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _fileLock.EndLease(); // let another process have the lock now rather than at the next lease tick
            _log.Dispose();
            _anchor.Dispose();
            _serializer.Dispose();
        }
        finally
        {
            _fileLock.Gate.Release();
        }

        _fileLock.Release();
    }

    /// <summary>
    /// Checks that the log can be appended to: the sink is open, the lock can be taken and the log and its anchor read.
    /// </summary>
    /// <exception cref="AgentScopeException">It cannot (kind <see cref="ErrorKind.BackendUnavailable"/>).</exception>
    public async ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var (_, anchorBytes) = await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (AuditRecordFormat.TryParseAnchor(anchorBytes) is null)
        {
            throw AgentScopeException.Unavailable($"audit sink unavailable: the anchor file {Path.GetFileName(_path)}.head is not readable; {VerifyHint}");
        }

        if (!File.Exists(_path))
        {
            throw AgentScopeException.Unavailable("audit sink unavailable: the audit log was removed or renamed while open");
        }
    }

    private static bool Matches(AuditQuery query, AuditEvent e) =>
        (query.AfterSeq is null || e.Seq > query.AfterSeq)
        && (query.BeforeSeq is null || e.Seq < query.BeforeSeq)
        && (query.AgentId is null || query.AgentId == e.AgentId)
        && (query.Label is null || query.Label == e.Label)
        && (query.Action is null || query.Action == e.Action)
        && (query.Outcome is null || query.Outcome == e.Outcome)
        && (query.Since is null || e.Time >= query.Since)
        && (query.Until is null || e.Time < query.Until);

    private static FileStream OpenShared(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }

    /// <summary>The gate is held but another process holds the OS lock: wait for it.</summary>
    private async ValueTask WriteSlowAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        try
        {
            await EnterOsLockAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                AppendLocked(auditEvent);
            }
            finally
            {
                _fileLock.Exit();
            }
        }
        finally
        {
            _fileLock.Gate.Release();
        }
    }

    /// <summary>
    /// The gate is taken: queue the record, then wait for the gate. Whoever holds it meanwhile appends queued records
    /// with its own, so by the time this writer gets the gate its record is usually written already.
    /// </summary>
    private async ValueTask WriteQueuedAsync(Queued queued, CancellationToken cancellationToken)
    {
        _queue.Enqueue(queued);
        try
        {
            await _fileLock.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            queued.Abandon(); // not written unless a writer already took it
            throw;
        }

        try
        {
            while (!queued.Done)
            {
                await EnterOsLockAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    AppendLocked(null);
                }
                finally
                {
                    _fileLock.Exit();
                }
            }
        }
        catch (Exception) when (queued.Abandon())
        {
            throw; // failed before any writer took the record: it is not written
        }
        finally
        {
            _fileLock.Gate.Release();
        }

        if (queued.Failure is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// Takes the OS lock, retrying (it is non-blocking) until <see cref="JsonLinesAuditOptions.LockTimeout"/>; meanwhile
    /// this process's waiting flag is up, so a holder in another process lets the lock go. Caller holds the gate.
    /// </summary>
    private async ValueTask EnterOsLockAsync(CancellationToken cancellationToken)
    {
        try
        {
            ThrowIfDisposed();
            var started = _time.GetTimestamp();
            for (var attempt = 0; !_fileLock.TryEnter(); attempt++)
            {
                if (_time.GetElapsedTime(started) > _lockTimeout)
                {
                    throw AgentScopeException.Unavailable("audit sink unavailable: timed out waiting for another writer's lock on the audit log", _fileLock.LastError);
                }

                if (attempt < 16)
                {
                    await Task.Yield();
                }
                else
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(1), _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            _fileLock.StopWaiting(); // gave up: another process's holder need not yield any more
            throw;
        }
    }

    /// <summary>Takes the gate and the OS lock just long enough to read a consistent (log length, anchor) pair.</summary>
    private async ValueTask<(long Length, byte[] Anchor)> SnapshotAsync(CancellationToken cancellationToken)
    {
        await _fileLock.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnterOsLockAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var length = RandomAccess.GetLength(_logHandle);
                var anchorLength = (int)Math.Min(RandomAccess.GetLength(_anchorHandle), 4096);
                var anchor = new byte[anchorLength];
                ReadExactly(_anchorHandle, anchor, 0);
                return (length, anchor);
            }
            finally
            {
                _fileLock.Exit();
            }
        }
        catch (Exception ex) when (ex is not AgentScopeException and not OperationCanceledException)
        {
            throw AgentScopeException.Unavailable("audit sink unavailable: cannot read the audit log", ex);
        }
        finally
        {
            _fileLock.Gate.Release();
        }
    }

    /// <summary>
    /// Appends <paramref name="auditEvent"/> (when given) and the records queued by waiting writers, in one write of the
    /// log and one of the anchor. Caller holds the gate and the OS lock.
    /// </summary>
    private void AppendLocked(AuditEvent? auditEvent)
    {
        ThrowIfDisposed();
        _batch.Clear();
        while (_batch.Count < MaxBatch && _queue.TryDequeue(out var queued))
        {
            if (queued.TryTake())
            {
                _batch.Add(queued);
            }
        }

        if (auditEvent is null && _batch.Count == 0)
        {
            return;
        }

        try
        {
            SyncTail();
            _batchLines.ResetWrittenCount();
            var seq = _lastSeq;
            if (auditEvent is not null)
            {
                AppendLine(auditEvent, ++seq);
            }

            foreach (var queued in _batch)
            {
                AppendLine(queued.Event, ++seq);
            }

            RandomAccess.Write(_logHandle, _batchLines.WrittenSpan, _knownLength);
            if (_durable)
            {
                RandomAccess.FlushToDisk(_logHandle);
            }

            _knownLength += _batchLines.WrittenCount;
            _lastSeq = seq;
            _lastHash = Encoding.ASCII.GetString(_lastHashAscii);

            AuditRecordFormat.FormatAnchor(_lastSeq, _lastHashAscii, _anchorBuffer);
            RandomAccess.Write(_anchorHandle, _anchorBuffer, 0);
            if (_durable)
            {
                RandomAccess.FlushToDisk(_anchorHandle);
            }
        }
        catch (Exception ex)
        {
            _knownLength = -1; // re-read the tail (and so the last seq and hash) before trying again
            var failure = ex as AgentScopeException ?? AgentScopeException.Unavailable("audit sink unavailable: cannot append to the audit log", ex);
            foreach (var queued in _batch)
            {
                queued.Complete(failure);
            }

            _batch.Clear();
            throw failure;
        }

        foreach (var queued in _batch)
        {
            queued.Complete(null);
        }

        _batch.Clear();
    }

    /// <summary>Formats the record after the last one (its prev is <see cref="_lastHash"/>) into the batch.</summary>
    private void AppendLine(AuditEvent auditEvent, long seq)
    {
        var length = FormatLine(auditEvent, seq, out var hashHex);
        _line.AsSpan(0, length).CopyTo(_batchLines.GetSpan(length));
        _batchLines.Advance(length);
        hashHex.CopyTo(_lastHashAscii);
        _lastHash = Encoding.ASCII.GetString(_lastHashAscii);
    }

    /// <summary>Serialises the record into <see cref="_line"/>, appending its hash; returns the line's length.</summary>
    private int FormatLine(AuditEvent e, long seq, out ReadOnlySpan<byte> hashHex)
    {
        var withoutBrace = _serializer.BodyWithoutBrace(AuditRecord.From(e, seq, _lastHash)); // {...,"prev":"<hex>"
        var total = withoutBrace.Length + AuditRecordFormat.HashMarker.Length + AuditRecordFormat.HashHexLength + AuditRecordFormat.LineEnd.Length;
        if (_line.Length < total)
        {
            _line = new byte[Math.Max(total, _line.Length * 2)];
        }

        var line = _line.AsSpan();
        withoutBrace.CopyTo(line);
        var at = withoutBrace.Length;
        AuditRecordFormat.HashMarker.CopyTo(line[at..]);
        at += AuditRecordFormat.HashMarker.Length;
        var hash = line.Slice(at, AuditRecordFormat.HashHexLength);
        _serializer.ComputeHash(_lastHash, withoutBrace, hash);
        at += AuditRecordFormat.HashHexLength;
        AuditRecordFormat.LineEnd.CopyTo(line[at..]);
        hashHex = _line.AsSpan(withoutBrace.Length + AuditRecordFormat.HashMarker.Length, AuditRecordFormat.HashHexLength);
        return total;
    }

    /// <summary>
    /// When the log's length is not what this instance last wrote, another writer appended (or the log was cut):
    /// re-read its last record and the anchor, check they agree, and continue the chain from there.
    /// </summary>
    private void SyncTail()
    {
        var handle = _logHandle;
        var length = RandomAccess.GetLength(handle);
        if (length == _knownLength)
        {
            return;
        }

        if (length < _knownLength)
        {
            throw AgentScopeException.Unavailable($"audit sink refuses to append: the audit log became shorter than this writer left it; {VerifyHint}");
        }

        long lastSeq = 0;
        string lastHash = AuditRecordFormat.ZeroHash, lastPrev = AuditRecordFormat.ZeroHash;
        if (length > 0)
        {
            var line = ReadLastLine(handle, length);
            if (line is null)
            {
                throw AgentScopeException.Unavailable($"audit sink refuses to append: the audit log ends with an incomplete record; {VerifyHint}");
            }

            var record = AuditRecordFormat.TryParse(line);
            if (record is null || !AuditRecordFormat.TrySplit(line, out _, out var hashHex))
            {
                throw AgentScopeException.Unavailable($"audit sink refuses to append: the last record of the audit log is not valid; {VerifyHint}");
            }

            lastSeq = record.Seq;
            lastPrev = record.Prev;
            lastHash = Encoding.ASCII.GetString(hashHex);
        }

        var anchorBytes = new byte[(int)Math.Min(RandomAccess.GetLength(_anchorHandle), 4096)];
        ReadExactly(_anchorHandle, anchorBytes, 0);
        var anchor = AuditRecordFormat.TryParseAnchor(anchorBytes);
        var consistent = anchor is not null
            && ((anchor.Seq == lastSeq && anchor.Hash == lastHash)
                || (anchor.Seq == lastSeq - 1 && anchor.Hash == lastPrev)); // a crash between record and anchor
        if (!consistent)
        {
            throw AgentScopeException.Unavailable($"audit sink refuses to append: the audit log does not match its anchor (records removed from the end?); {VerifyHint}");
        }

        _lastSeq = lastSeq;
        _lastHash = lastHash;
        Encoding.ASCII.GetBytes(lastHash, _lastHashAscii);
        _knownLength = length;
    }

    /// <summary>The last line (without its newline), or null when the file does not end with a newline.</summary>
    private static byte[]? ReadLastLine(SafeFileHandle handle, long length)
    {
        var chunk = new byte[4096];
        ReadExactly(handle, chunk.AsSpan(0, 1), length - 1);
        if (chunk[0] != (byte)'\n')
        {
            return null;
        }

        var end = length - 1;
        var start = 0L;
        for (var searchEnd = end; searchEnd > 0;)
        {
            var count = (int)Math.Min(chunk.Length, searchEnd);
            var offset = searchEnd - count;
            ReadExactly(handle, chunk.AsSpan(0, count), offset);
            var newline = chunk.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                start = offset + newline + 1;
                break;
            }

            searchEnd = offset;
        }

        var line = new byte[end - start];
        ReadExactly(handle, line, start);
        return line;
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw new EndOfStreamException("the audit file is shorter than expected");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    /// <summary>Streams the lines of the first <paramref name="length"/> bytes of the log, through a fresh read handle.</summary>
    private async IAsyncEnumerable<LogLine> ReadLinesAsync(long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var handle = OpenForReading();
        var buffer = new byte[64 * 1024];
        int start = 0, end = 0;
        long fileOffset = 0, number = 0;
        while (true)
        {
            var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                yield return new LogLine(++number, buffer.AsMemory(start, newline), Terminated: true);
                start += newline + 1;
                continue;
            }

            if (fileOffset >= length)
            {
                if (end > start)
                {
                    yield return new LogLine(++number, buffer.AsMemory(start, end - start), Terminated: false);
                }

                yield break;
            }

            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }

            if (end == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var toRead = (int)Math.Min(buffer.Length - end, length - fileOffset);
            var read = await ReadChunkAsync(handle, buffer.AsMemory(end, toRead), fileOffset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                length = fileOffset; // the file shrank under us: stop at what was read
                continue;
            }

            fileOffset += read;
            end += read;
        }
    }

    private SafeFileHandle OpenForReading()
    {
        ThrowIfDisposed();
        try
        {
            return File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (Exception ex)
        {
            throw AgentScopeException.Unavailable("audit sink unavailable: cannot open the audit log for reading", ex);
        }
    }

    private static async ValueTask<int> ReadChunkAsync(SafeFileHandle handle, Memory<byte> buffer, long offset, CancellationToken cancellationToken)
    {
        try
        {
            return await RandomAccess.ReadAsync(handle, buffer, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw AgentScopeException.Unavailable("audit sink unavailable: cannot read the audit log", ex);
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw AgentScopeException.Unavailable("audit sink unavailable: the sink is closed");
        }
    }

    /// <summary>Checks lines one by one against the chain so far (the line format here, the links in <see cref="AuditChainVerifier"/>).</summary>
    private sealed class ChainVerifier(long anchorSeq) : IDisposable
    {
        private readonly AuditChainVerifier _chain = new(anchorSeq);

        /// <summary>How many records passed.</summary>
        public long Events => _chain.Events;

        /// <summary>The hash of the record whose seq the anchor names (the zero hash for seq 0), once seen.</summary>
        public string? HashAtAnchorSeq => _chain.HashAtWatchedSeq;

        /// <summary>The problem with <paramref name="line"/>, or null when it extends the chain.</summary>
        public string? Check(LogLine line)
        {
            var bytes = line.Bytes.Span;
            if (!line.Terminated)
            {
                return $"line {line.Number} is incomplete (no line ending): the log was cut inside a record or a write was interrupted";
            }

            if (bytes.IsEmpty)
            {
                return $"line {line.Number} is empty";
            }

            var record = AuditRecordFormat.TryParse(bytes);
            if (record is null)
            {
                return $"line {line.Number} is not valid JSON or not an audit record";
            }

            if (!AuditRecordFormat.TrySplit(bytes, out var marker, out var hashHex))
            {
                return $"line {line.Number} does not end with a well-formed hash field";
            }

            // The exact bytes on disk are hashed, not a re-serialisation: any change to them shows.
            return _chain.Check($"line {line.Number}", record, bytes[..marker], hashHex);
        }

        public void Dispose() => _chain.Dispose();
    }

    /// <summary>A record queued by a writer that found the gate taken.</summary>
    private sealed class Queued(AuditEvent auditEvent)
    {
        private const int Waiting = 0, Taken = 1, Abandoned = 2;
        private int _state;

        public AuditEvent Event { get; } = auditEvent;

        /// <summary>Set, with <see cref="Failure"/>, by the writer that took the record, before it releases the gate.</summary>
        public bool Done { get; private set; }

        public AgentScopeException? Failure { get; private set; }

        /// <summary>A writer holding the gate claims the record; false when its writer gave up on it.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Waiting) == Waiting;

        /// <summary>Its writer gives up (cancelled or failed): true when no writer had taken it, so it will never be written.</summary>
        public bool Abandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

        public void Complete(AgentScopeException? failure)
        {
            Failure = failure;
            Done = true;
        }
    }

    private readonly record struct LogLine(long Number, ReadOnlyMemory<byte> Bytes, bool Terminated);
}

