using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.HashiCorpVault;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

public sealed class ResilienceTests : IAsyncLifetime
{
    private VaultTestServer _server = null!;

    public async Task InitializeAsync() => _server = await VaultTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private int Count(string method, string pathPart) => _server.Requests.Count(r => r.Method == method && r.Path.Contains(pathPart, StringComparison.Ordinal));

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(429)]
    [InlineData(412)]
    public async Task Transient_answers_are_retried_until_the_call_succeeds(int status)
    {
        await using var h = VaultHarness.Create(_server);
        _server.InjectFaults(status, 3, pathPrefix: "secret/data/");
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(new EntryKey("alpha", "db"))));
        Assert.Equal(4, Count("POST", "/data/" + h.RootPath + "/agents/alpha/db"));
    }

    [Fact]
    public async Task When_the_retries_are_spent_the_failure_is_backend_unavailable()
    {
        await using var h = VaultHarness.Create(_server, o => o.MaxRetries = 2);
        _server.InjectFaults(503, 100, pathPrefix: "secret/data/");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("503", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"secret/data/{h.RootPath}/agents/alpha/db", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, Count("GET", "/data/" + h.RootPath + "/agents/alpha/db"));
    }

    [Fact]
    public async Task A_sealed_vault_is_retried_then_reported_unavailable_and_works_once_unsealed()
    {
        await using var h = VaultHarness.Create(_server, o => o.MaxRetries = 1);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.Sealed = true;
        try
        {
            var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
            Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
            Assert.Contains("sealed", ex.Message, StringComparison.Ordinal);
            var health = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.CheckHealthAsync().AsTask());
            Assert.Equal(ErrorKind.BackendUnavailable, health.Kind);
        }
        finally
        {
            _server.Sealed = false;
        }

        Assert.Equal("v1", Text(await h.Backend.GetAsync(new EntryKey("alpha", "db"))));
    }

    [Fact]
    public async Task Retry_After_of_a_rate_limited_answer_is_honoured()
    {
        await using var h = VaultHarness.Create(_server);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.InjectFaults(429, 1, pathPrefix: "secret/data/", retryAfter: TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        Assert.Equal("v1", Text(await h.Backend.GetAsync(new EntryKey("alpha", "db"))));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"waited only {clock.Elapsed}");
    }

    [Fact]
    public async Task A_rate_limited_call_keeps_waiting_its_turn_after_the_retries_are_spent()
    {
        await using var h = VaultHarness.Create(_server, o => o.MaxRetries = 1);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.InjectFaults(429, 6, pathPrefix: "secret/data/");
        Assert.Equal("v1", Text(await h.Backend.GetAsync(new EntryKey("alpha", "db"))));
        Assert.Equal(7, Count("GET", "/data/" + h.RootPath + "/agents/alpha/db"));
    }

    [Fact]
    public async Task Other_transient_failures_still_stop_when_the_retries_are_spent()
    {
        await using var h = VaultHarness.Create(_server, o => o.MaxRetries = 1);
        _server.InjectFaults(503, 6, pathPrefix: "secret/data/");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Equal(2, Count("GET", "/data/" + h.RootPath + "/agents/alpha/db"));
    }

    [Fact]
    public async Task A_rate_limit_that_outlasts_the_wait_is_reported_unavailable()
    {
        await using var h = VaultHarness.Create(_server, o =>
        {
            o.MaxRetries = 1;
            o.RateLimitWait = TimeSpan.FromMilliseconds(100);
        });
        _server.InjectFaults(429, 100_000, pathPrefix: "secret/data/");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("429", ex.Message, StringComparison.Ordinal);
        Assert.True(Count("GET", "/data/" + h.RootPath + "/agents/alpha/db") > 2);
    }

    [Fact]
    public async Task With_no_rate_limit_wait_a_429_counts_like_any_transient_failure()
    {
        await using var h = VaultHarness.Create(_server, o =>
        {
            o.MaxRetries = 1;
            o.RateLimitWait = TimeSpan.Zero;
        });
        _server.InjectFaults(429, 6, pathPrefix: "secret/data/");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Equal(2, Count("GET", "/data/" + h.RootPath + "/agents/alpha/db"));
    }

    [Fact]
    public async Task Deletes_under_a_rate_limit_quota_without_retry_after_all_complete()
    {
        await using var h = VaultHarness.Create(_server);
        for (var i = 0; i < 30; i++)
        {
            await h.Backend.PutAsync(Entry("quota", $"e{i:D2}", "v"));
        }

        var keys = (await ToList(h.Backend.ListAsync("quota"))).Select(m => m.Key).ToList();
        _server.SetRateLimit(40);
        try
        {
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (k, ct) => Assert.True(await h.Backend.DeleteAsync(k, ct)));
            Assert.True(_server.ThrottledCount > 0, "the quota never throttled, so this proved nothing");
        }
        finally
        {
            _server.ClearRateLimit();
        }

        Assert.Empty(await ToList(h.Backend.ListAsync("quota")));
    }

    [Fact]
    public async Task A_dropped_connection_is_retried()
    {
        await using var h = VaultHarness.Create(_server);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.DropConnections(2, pathPrefix: "secret/metadata/");
        Assert.True(await h.Backend.DeleteAsync(new EntryKey("alpha", "db")));
        Assert.Null(await h.Backend.GetAsync(new EntryKey("alpha", "db")));
    }

    [Fact]
    public async Task A_refused_connection_is_retried_then_reported_unavailable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var h = VaultHarness.Create(_server, o =>
        {
            o.Address = $"http://127.0.0.1:{port}";
            o.MaxRetries = 2;
        });
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("unreachable", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempts", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_that_outlives_the_timeout_is_retried_then_reported_unavailable()
    {
        await using var h = VaultHarness.Create(_server, o =>
        {
            o.Timeout = TimeSpan.FromMilliseconds(150);
            o.MaxRetries = 1;
        });
        _server.Latency = TimeSpan.FromSeconds(1);
        try
        {
            var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
            Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
            Assert.Contains("did not answer", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            _server.Latency = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_retried_and_surfaces_as_cancellation()
    {
        await using var h = VaultHarness.Create(_server);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.Latency = TimeSpan.FromSeconds(2);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Backend.GetAsync(new EntryKey("alpha", "db"), cts.Token).AsTask());
        }
        finally
        {
            _server.Latency = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task Revoke_style_deletes_finish_through_a_burst_of_faults()
    {
        // Enough retries that one call may meet the whole burst: faults go to whichever request comes next.
        await using var h = VaultHarness.Create(_server, o => o.MaxRetries = 10);
        for (var i = 0; i < 20; i++)
        {
            await h.Backend.PutAsync(Entry("bulk", $"e{i:D2}", "v"));
        }

        var keys = (await ToList(h.Backend.ListAsync("bulk"))).Select(m => m.Key).ToList();
        Assert.Equal(20, keys.Count);
        _server.InjectFaults(503, 4, pathPrefix: "secret/metadata/");
        _server.InjectFaults(429, 3, pathPrefix: "secret/metadata/");
        _server.DropConnections(2, pathPrefix: "secret/metadata/");
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (k, ct) => Assert.True(await h.Backend.DeleteAsync(k, ct)));
        Assert.Empty(await ToList(h.Backend.ListAsync("bulk")));
    }
}
