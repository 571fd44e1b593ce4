using AgentScope.Backends;
using AgentScope.Testing.Emulators.HashiCorpVault;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

public sealed class HealthAndTlsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("agentscope-vault-tls-").FullName;
    private VaultTestServer _server = null!;

    public async Task InitializeAsync() => _server = await VaultTestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task The_health_check_asks_sys_health_then_looks_up_the_token_and_lists()
    {
        await using var h = VaultHarness.Create(_server);
        await h.Backend.CheckHealthAsync();
        var paths = _server.Requests.Select(r => r.Method + " " + r.Path).ToList();
        Assert.Contains("GET sys/health", paths);
        Assert.Contains("GET auth/token/lookup-self", paths);
        Assert.Contains($"LIST secret/metadata/{h.RootPath}/agents/", paths);
        Assert.Null(_server.Requests.First(r => r.Path == "sys/health").Token);
    }

    [Fact]
    public async Task A_standby_node_counts_as_ready()
    {
        await using var h = VaultHarness.Create(_server);
        _server.Standby = true;
        await h.Backend.CheckHealthAsync();
    }

    [Fact]
    public async Task A_sealed_vault_fails_the_health_check_at_once()
    {
        await using var h = VaultHarness.Create(_server);
        _server.Sealed = true;
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Single(_server.Requests, r => r.Path == "sys/health"); // a probe reports the present state, without retries
    }

    [Fact]
    public async Task A_revoked_token_fails_the_health_check()
    {
        var token = _server.CreateToken();
        await using var h = VaultHarness.Create(_server, o => o.Auth.Token = token);
        await h.Backend.CheckHealthAsync();
        _server.ExpireToken(token);
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
    }

    [Fact]
    public async Task A_policy_without_list_fails_the_health_check()
    {
        await using var h = VaultHarness.Create(_server);
        _server.Deny($"secret/metadata/{h.RootPath}/agents/*", "list");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("\"list\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_with_the_ca_file_works_and_without_it_fails_without_retrying()
    {
        var pem = Path.Combine(_dir, "ca.pem");
        using var certificate = VaultTestServer.CreateCertificate(pem);
        await using var tls = await VaultTestServer.StartAsync(certificate: certificate);
        Assert.Equal("https", tls.Address.Scheme);

        await using (var trusted = VaultHarness.Create(tls, o => o.CaCertificateFile = pem, rootPath: "tls"))
        {
            await trusted.Backend.PutAsync(Entry("alpha", "db", "over-tls"));
            Assert.Equal("over-tls", Text(await trusted.Backend.GetAsync(new EntryKey("alpha", "db"))));
        }

        await using (var untrusted = VaultHarness.Create(tls, o => o.MaxRetries = 3))
        {
            var ex = await Assert.ThrowsAsync<AgentScopeException>(() => untrusted.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
            Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
            Assert.Contains("CaCertificateFile", ex.Message, StringComparison.Ordinal);
            Assert.Contains("1 attempt", ex.Message, StringComparison.Ordinal);
        }

        await using (var insecure = VaultHarness.Create(tls, o => o.SkipTlsVerify = true, rootPath: "tls"))
        {
            Assert.Equal("over-tls", Text(await insecure.Backend.GetAsync(new EntryKey("alpha", "db"))));
        }
    }
}
