using System.Text.Json;
using AgentScope.Audit;

namespace AgentScope.Tests.Audit;

public sealed class JsonLinesAuditConcurrencyTests : IDisposable
{
    private const int Tasks = 8;
    private const int PerTask = 250;

    private readonly AuditTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private async Task AssertOneValidChainAsync(JsonLinesAuditSink sink, int expected)
    {
        Assert.Equal(new AuditVerification(true, expected, null), await sink.VerifyAsync());

        var seqs = _files.ReadLines().Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return doc.RootElement.GetProperty("seq").GetInt64();
        }).ToArray();
        Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), seqs);

        var requestIds = new HashSet<string?>();
        await foreach (var e in sink.QueryAsync(new AuditQuery { Limit = int.MaxValue }))
        {
            requestIds.Add(e.RequestId);
        }

        Assert.Equal(expected, requestIds.Count);
    }

    private static Task WriteInParallelAsync(params JsonLinesAuditSink[] sinks) =>
        Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < PerTask; i++)
            {
                // Each task alternates between the sinks, so their writes interleave as finely as possible.
                await sinks[(t + i) % sinks.Length].WriteAsync(AuditTestFiles.Event((t * PerTask) + i, agent: "agent-" + t));
            }
        })));

    [Fact]
    public async Task Many_threads_writing_through_one_sink_make_one_valid_chain()
    {
        using var sink = _files.Open();
        await WriteInParallelAsync(sink);
        await AssertOneValidChainAsync(sink, Tasks * PerTask);
    }

    [Fact]
    public async Task A_write_among_many_concurrent_ones_returns_only_once_its_record_is_in_the_log()
    {
        using var sink = _files.Open();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var missing = 0;
        var writers = Task.WhenAll(Enumerable.Range(0, 32).Select(t => Task.Run(async () =>
        {
            await start.Task;
            for (var i = 0; i < 20; i++)
            {
                var n = (t * 20) + i;
                await sink.WriteAsync(AuditTestFiles.Event(n)); // queued behind other writers, appended in their batches
                var log = await File.ReadAllTextAsync(_files.LogPath);
                if (!log.Contains($"\"requestId\":\"req-{n}\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref missing);
                }
            }
        })));
        start.SetResult();
        await writers;

        Assert.Equal(0, missing);
        await AssertOneValidChainAsync(sink, 32 * 20);
    }

    [Fact]
    public async Task Writers_queued_when_the_sink_is_disposed_fail_instead_of_waiting_forever()
    {
        var sink = _files.Open();
        var writers = Enumerable.Range(0, 32).Select(t => Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    await sink.WriteAsync(AuditTestFiles.Event((t * 100_000) + i));
                }
                catch (AgentScopeException e) when (e.Kind == ErrorKind.BackendUnavailable)
                {
                    return;
                }
            }
        })).ToArray();

        await Task.Delay(100);
        sink.Dispose();
        var all = Task.WhenAll(writers);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10))));

        using var reopened = _files.Open();
        Assert.True((await reopened.VerifyAsync()).Valid);
    }

    [Fact]
    public async Task Two_sinks_on_one_path_interleaving_writes_make_one_valid_chain()
    {
        using var first = _files.Open();
        using var second = _files.Open();
        await WriteInParallelAsync(first, second);
        await AssertOneValidChainAsync(first, Tasks * PerTask);
    }

    [Fact]
    public async Task Two_sinks_locking_by_exclusive_open_as_on_macos_make_one_valid_chain()
    {
        using var first = _files.Open(exclusiveOpenLock: true);
        using var second = _files.Open(exclusiveOpenLock: true);
        await WriteInParallelAsync(first, second);
        await AssertOneValidChainAsync(first, Tasks * PerTask);
    }

    // The lock is leased across appends (AuditFileLock): another process must still get its turn. No wall-clock bound is
    // asserted (these machines are shared and noisy); starving shows as the child's 10 s lock timeout, i.e. a failed exit.

    [Fact]
    public async Task Another_process_appends_within_a_bounded_wait_while_this_one_appends_without_pause()
    {
        using var sink = _files.Open();
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writers = Enumerable.Range(0, 3).Select(t => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await sink.WriteAsync(AuditTestFiles.Event(i) with { RequestId = $"parent-{t}-{i}" });
                Interlocked.Increment(ref written);
            }
        })).ToArray();
        while (Volatile.Read(ref written) < 500)
        {
            await Task.Delay(10);
        }

        var child = await AuditWriterProcess.StartAsync(_files.LogPath, 50);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(child.ExitCode == 0, child.Output);
        var ids = RequestIds();
        Assert.Equal(50, ids.Count(id => id.StartsWith("child-", StringComparison.Ordinal)));
        var first = ids.FindIndex(id => id.StartsWith("child-", StringComparison.Ordinal));
        var last = ids.FindLastIndex(id => id.StartsWith("child-", StringComparison.Ordinal));
        Assert.Contains(ids[first..last], id => id.StartsWith("parent-", StringComparison.Ordinal)); // the two really took turns
        await AssertOneValidChainAsync(sink, written + 50);
    }

    [Fact]
    public async Task Another_process_appends_without_waiting_for_a_lease_this_one_no_longer_uses()
    {
        using var sink = _files.Open();
        for (var i = 0; i < 10; i++)
        {
            await sink.WriteAsync(AuditTestFiles.Event(i));
        }

        // This sink stays open and idle: its lease must not keep the other process waiting.
        var child = await AuditWriterProcess.StartAsync(_files.LogPath, 20);

        Assert.True(child.ExitCode == 0, child.Output);
        await sink.WriteAsync(AuditTestFiles.Event(10)); // and this one continues the chain after the other's records
        await AssertOneValidChainAsync(sink, 31);
    }

    private List<string> RequestIds() => _files.ReadLines().Select(l =>
    {
        using var doc = JsonDocument.Parse(l);
        return doc.RootElement.GetProperty("requestId").GetString()!;
    }).ToList();

    [Fact]
    public async Task Alternating_writers_each_pick_up_the_other_writers_last_record()
    {
        using var first = _files.Open();
        using var second = _files.Open();

        await first.WriteAsync(AuditTestFiles.Event(0));
        await second.WriteAsync(AuditTestFiles.Event(1));
        await first.WriteAsync(AuditTestFiles.Event(2));
        await first.WriteAsync(AuditTestFiles.Event(3));
        await second.WriteAsync(AuditTestFiles.Event(4));

        await AssertOneValidChainAsync(second, 5);
    }

    [Fact]
    public async Task A_writer_waiting_too_long_for_another_process_lock_throws_the_typed_unavailable_error()
    {
        using var sink = _files.Open(exclusiveOpenLock: true, lockTimeout: TimeSpan.FromMilliseconds(200));
        await sink.WriteAsync(AuditTestFiles.Event(0));

        // Another process holding the lock looks, to this process, like a handle it cannot share.
        using (new FileStream(_files.LogPath + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.WriteAsync(AuditTestFiles.Event(1)).AsTask());
            Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
            Assert.Contains("lock", ex.Message, StringComparison.Ordinal);
        }

        await sink.WriteAsync(AuditTestFiles.Event(2));
        Assert.Equal(new AuditVerification(true, 2, null), await sink.VerifyAsync());
    }

    [Fact]
    public async Task A_sink_opens_while_another_process_holds_the_lock_and_writes_once_it_is_released()
    {
        using (_files.Open(exclusiveOpenLock: true))
        {
        }

        JsonLinesAuditSink sink;
        using (new FileStream(_files.LogPath + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            sink = _files.Open(exclusiveOpenLock: true);
        }

        using (sink)
        {
            await sink.WriteAsync(AuditTestFiles.Event(0));
            Assert.Equal(new AuditVerification(true, 1, null), await sink.VerifyAsync());
        }
    }

    [Fact]
    public async Task A_write_waiting_for_the_lock_can_be_cancelled()
    {
        using var sink = _files.Open(exclusiveOpenLock: true);
        using (new FileStream(_files.LogPath + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sink.WriteAsync(AuditTestFiles.Event(0), cts.Token).AsTask());
        }

        await sink.WriteAsync(AuditTestFiles.Event(1));
        Assert.Equal(new AuditVerification(true, 1, null), await sink.VerifyAsync());
    }
}
