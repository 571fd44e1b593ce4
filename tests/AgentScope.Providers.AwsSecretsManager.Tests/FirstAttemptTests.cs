using System.Collections.Concurrent;
using System.Text;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using Polly.Timeout;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

/// <summary>
/// The first attempt of a call is made outside the retry pipeline; when it fails transiently, the pipeline takes over with
/// that failure as its attempt 0. These check that nothing of the retry behaviour is lost on the way: the backoff before
/// the first retry, the attempt count, transport failures and timeouts on the first attempt, the caller's cancellation.
/// </summary>
public sealed class FirstAttemptTests
{
    private static readonly EntryKey Key = new("alpha", "k");

    private static BackendEntry Entry() => new(
        new EntryMetadata(Key, SecretKind.Generic, 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, Encrypted: false),
        "v"u8.ToArray());

    [Fact]
    public async Task A_throttled_first_attempt_waits_one_backoff_delay_before_the_retry_that_succeeds()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var time = new RecordingTimeProvider();
        var options = TestBackend.OptionsFor(server, WithMeasurableDelays);
        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(options, http, time);
        await backend.PutAsync(Entry());
        time.Clear();

        server.FailNext("GetSecretValue", 1);
        Assert.NotNull(await backend.GetAsync(Key));

        Assert.Equal(2, server.Calls("GetSecretValue"));
        var delay = Assert.Single(RetryDelays(time, options));
        Assert.InRange(delay, TimeSpan.FromTicks(1), options.MaxRetryDelay);
    }

    [Fact]
    public async Task Every_failed_attempt_but_the_last_is_followed_by_a_backoff_delay()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var time = new RecordingTimeProvider();
        var options = TestBackend.OptionsFor(server, o => { o.MaxRetries = 2; WithMeasurableDelays(o); });
        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(options, http, time);

        server.FailNext("GetSecretValue", 10);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => backend.GetAsync(Key).AsTask());

        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Contains("failed 3 times (ThrottlingException, HTTP 400)", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Calls("GetSecretValue"));
        Assert.Equal(2, RetryDelays(time, options).Count);
    }

    [Fact]
    public async Task Without_retries_a_throttled_first_attempt_is_the_answer()
    {
        await using var t = await TestBackend.StartAsync(o => o.MaxRetries = 0);
        t.Server.FailNext("GetSecretValue", 1);

        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.GetAsync(Key).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Contains("failed 1 times (ThrottlingException", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, t.Server.Calls("GetSecretValue"));
    }

    [Fact]
    public async Task A_first_attempt_that_cannot_reach_the_service_is_retried()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var handler = new FirstSendsFail(1, _ => throw new HttpRequestException("connection refused (simulated)"));
        using var http = new HttpClient(handler);
        using var backend = new AwsSecretsManagerBackend(TestBackend.OptionsFor(server), http);

        await backend.CheckHealthAsync();
        Assert.Equal(2, handler.Sends);
        Assert.Equal(1, server.Calls("ListSecrets"));
    }

    [Fact]
    public async Task A_first_attempt_that_times_out_is_retried_and_the_retry_gets_a_fresh_timeout()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var handler = new FirstSendsFail(0, async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("not reached");
        });
        using var http = new HttpClient(handler);
        using var backend = new AwsSecretsManagerBackend(TestBackend.OptionsFor(server, o => o.RequestTimeout = TimeSpan.FromMilliseconds(500)), http);
        await backend.CheckHealthAsync(); // connected and compiled, so the retry is not slowed by either

        handler.FailNext(1);
        await backend.CheckHealthAsync();
        await backend.CheckHealthAsync();
        Assert.Equal(4, handler.Sends);
        Assert.Equal(3, server.Calls("ListSecrets"));
    }

    [Fact]
    public async Task Timeouts_on_every_attempt_surface_as_timed_out_with_the_attempt_count()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var handler = new FirstSendsFail(int.MaxValue, async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("not reached");
        });
        using var http = new HttpClient(handler);
        using var backend = new AwsSecretsManagerBackend(
            TestBackend.OptionsFor(server, o => { o.RequestTimeout = TimeSpan.FromMilliseconds(50); o.MaxRetries = 2; }), http);

        var e = await Assert.ThrowsAsync<AgentScopeException>(() => backend.GetAsync(Key).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Contains("failed 3 times (timed out)", e.Message, StringComparison.Ordinal);
        Assert.IsType<TimeoutRejectedException>(e.InnerException);
        Assert.Equal(3, handler.Sends);
    }

    [Fact]
    public async Task The_callers_cancellation_of_the_first_attempt_is_not_retried()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        using var cts = new CancellationTokenSource();
        var handler = new FirstSendsFail(int.MaxValue, async ct =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("not reached");
        });
        using var http = new HttpClient(handler);
        using var backend = new AwsSecretsManagerBackend(TestBackend.OptionsFor(server), http);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backend.GetAsync(Key, cts.Token).AsTask());
        Assert.Equal(1, handler.Sends);
    }

    [Fact]
    public async Task A_callers_token_cancelled_after_its_call_does_not_affect_later_calls()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry());
        for (var i = 0; i < 20; i++)
        {
            using var cts = new CancellationTokenSource();
            Assert.Equal("v", Encoding.UTF8.GetString((await t.Backend.GetAsync(Key, cts.Token))!.Value));
            await cts.CancelAsync();
        }

        Assert.Equal(20, t.Server.Calls("GetSecretValue"));
    }

    // Jittered delays from a 1 ms base can come out under a millisecond, and those make no timer: with 100 ms, a delay
    // under a millisecond is a one-in-many-thousands draw.
    private static void WithMeasurableDelays(AwsSecretsManagerOptions o)
    {
        o.RetryBaseDelay = TimeSpan.FromMilliseconds(100);
        o.MaxRetryDelay = TimeSpan.FromMilliseconds(200);
    }

    // Timers shorter than the request timeout are retry delays (the attempt timeouts are the request timeout; infinite
    // due times are timers created stopped).
    private static List<TimeSpan> RetryDelays(RecordingTimeProvider time, AwsSecretsManagerOptions options) =>
        time.DueTimes.Where(d => d > TimeSpan.Zero && d < options.RequestTimeout).ToList();

    /// <summary>The system clock, recording the due time of every timer made through it (retry delays and attempt timeouts).</summary>
    private sealed class RecordingTimeProvider : TimeProvider
    {
        private readonly ConcurrentQueue<TimeSpan> _dueTimes = new();

        public IReadOnlyList<TimeSpan> DueTimes => _dueTimes.ToArray();

        public void Clear() => _dueTimes.Clear();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _dueTimes.Enqueue(dueTime);
            return System.CreateTimer(callback, state, dueTime, period);
        }
    }

    /// <summary>Fails the next <c>failures</c> sends its own way, then sends for real.</summary>
    private sealed class FirstSendsFail(int failures, Func<CancellationToken, Task<HttpResponseMessage>> fail) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _sends;
        private int _failures = failures;

        public int Sends => Volatile.Read(ref _sends);

        public void FailNext(int count) => Volatile.Write(ref _failures, count);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sends);
            return Interlocked.Decrement(ref _failures) >= 0 ? fail(cancellationToken) : base.SendAsync(request, cancellationToken);
        }
    }
}
