using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Invariant 4: a failed backend or audit call loses nothing; a write either happened or the caller got a typed error.</summary>
public sealed class FailureTests
{
    private static async Task<(TestHost Host, FaultyBackend Backend, AgentVault A)> SetUpAsync(bool clientSideEncryption = false)
    {
        var backend = new FaultyBackend(new InMemorySecretBackend()) { Where = k => !k.IsRegistry };
        var host = new TestHost(backend, configure: o => o.ClientSideEncryption = clientSideEncryption);
        var (a, _) = await host.AddAgentAsync("a");
        return (host, backend, a);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failed_put_surfaces_as_backend_unavailable_and_stores_nothing(bool clientSideEncryption)
    {
        var (host, backend, a) = await SetUpAsync(clientSideEncryption);
        await using var _ = host;
        backend.FailNthPut(1);

        var e = await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.StoreAsync("db", new SecretValue("v1")));

        Assert.NotNull(e.RetryAfter);
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("db"));
        Assert.Empty(await a.ListAsync());
        Assert.DoesNotContain(await host.ListAllAsync(), m => m.Key.Namespace == "a");
        Assert.Contains(host.Sink.Events, ev => ev.Action == "write" && ev.Outcome == "error" && ev.Label == "db");
    }

    [Fact]
    public async Task A_failed_overwrite_keeps_the_previous_value_and_version()
    {
        var (host, backend, a) = await SetUpAsync();
        await using var _ = host;
        await a.StoreAsync("db", new SecretValue("v1"));
        backend.FailNthPut(1);

        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.StoreAsync("db", new SecretValue("v2")));

        var got = await a.GetAsync("db");
        Assert.Equal("v1", got.Value.Reveal());
        Assert.Equal(1, got.Version);
        var next = await a.StoreAsync("db", new SecretValue("v2"));
        Assert.Equal(2, next.Version);
        Assert.False(next.Created);
    }

    [Fact]
    public async Task A_backend_that_refuses_an_oversized_value_surfaces_as_value_too_large()
    {
        var (host, backend, a) = await SetUpAsync();
        await using var _ = host;
        backend.FailNthPut(1, () => new AgentScopeException(ErrorKind.ValueTooLarge, "the service refused the size"));

        await Expect.FailsAsync(ErrorKind.ValueTooLarge, () => a.StoreAsync("db", new SecretValue("v")));
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("db"));
    }

    [Fact]
    public async Task A_failed_get_surfaces_as_backend_unavailable_on_read_totp_and_delete()
    {
        var (host, backend, a) = await SetUpAsync();
        await using var _ = host;
        await a.StoreAsync("db", new SecretValue("v1"));
        await a.StoreAsync("otp", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });

        backend.FailNthGet(1);
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.GetAsync("db"));
        backend.FailNthGet(1);
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.GetTotpAsync("otp"));
        backend.FailNthGet(1);
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.DeleteAsync("db"));

        Assert.Equal("v1", (await a.GetAsync("db")).Value.Reveal());
    }

    [Fact]
    public async Task A_failed_delete_surfaces_as_backend_unavailable_and_the_value_stays_readable()
    {
        var (host, backend, a) = await SetUpAsync();
        await using var _ = host;
        await a.StoreAsync("db", new SecretValue("v1"));
        backend.FailNthDelete(1);

        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.DeleteAsync("db"));

        Assert.Equal("v1", (await a.GetAsync("db")).Value.Reveal());
        await a.DeleteAsync("db");
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("db"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task When_the_audit_sink_fails_a_store_is_refused_and_nothing_is_written(bool overwrite)
    {
        var (host, backend, a) = await SetUpAsync();
        await using var _ = host;
        if (overwrite)
        {
            await a.StoreAsync("db", new SecretValue("v1"));
        }

        var putsBefore = backend.Puts;
        host.Sink.FailWith = new IOException("audit volume is read-only");

        var e = await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.StoreAsync("db", new SecretValue("v2")));

        Assert.IsType<IOException>(e.InnerException);
        Assert.Equal(putsBefore, backend.Puts);
        host.Sink.FailWith = null;
        if (overwrite)
        {
            var got = await a.GetAsync("db");
            Assert.Equal("v1", got.Value.Reveal());
            Assert.Equal(1, got.Version);
        }
        else
        {
            await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("db"));
        }
    }

    [Fact]
    public async Task When_the_audit_sink_fails_a_delete_is_refused_and_the_value_stays()
    {
        var (host, backend, a) = await SetUpAsync();
        await using var _ = host;
        await a.StoreAsync("db", new SecretValue("v1"));
        host.Sink.FailWith = new IOException("audit volume is read-only");

        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.DeleteAsync("db"));

        Assert.Equal(0, backend.Deletes);
        host.Sink.FailWith = null;
        Assert.Equal("v1", (await a.GetAsync("db")).Value.Reveal());
    }

    [Fact]
    public async Task When_the_audit_sink_fails_a_read_returns_no_value()
    {
        var (host, _, a) = await SetUpAsync();
        await using var _ = host;
        await a.StoreAsync("db", new SecretValue("v1"));
        host.Sink.FailWith = new IOException("audit volume is read-only");

        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.GetAsync("db"));
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => a.ListAsync());
    }

    [Fact]
    public async Task With_best_effort_audit_a_store_succeeds_despite_a_failing_sink_and_the_failure_is_logged()
    {
        await using var host = new TestHost(configure: o => o.AuditBestEffort = true);
        var (a, _) = await host.AddAgentAsync("a");
        host.Sink.FailWith = new IOException("audit volume is read-only");

        await a.StoreAsync("db", new SecretValue("v1"));

        Assert.Equal("v1", (await a.GetAsync("db")).Value.Reveal());
        Assert.Contains(host.Logs.Entries, l => l.Contains("audit sink failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_sink_does_not_hide_the_original_error()
    {
        var (host, _, a) = await SetUpAsync();
        await using var _ = host;
        host.Sink.FailWith = new IOException("audit volume is read-only");

        await Expect.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("../x", new SecretValue("v")));
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("missing"));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync("nope"));
    }
}
