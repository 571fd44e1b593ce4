using AgentScope.Testing;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.HashiCorpVault;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

public sealed class AuthTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("agentscope-vault-auth-").FullName;
    private VaultTestServer _server = null!;

    public async Task InitializeAsync() => _server = await VaultTestServer.StartAsync(_clock);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static readonly EntryKey Db = new("alpha", "db");

    private int Count(string method, string path) => _server.Requests.Count(r => r.Method == method && r.Path == path);

    // Polly's backoff runs on the injected clock too, which only moves when a test advances it: no retries here, so a
    // transient failure fails the test at once instead of waiting for a clock that never moves.
    private VaultHarness Harness(Action<HashiCorpVaultOptions> configure) => VaultHarness.Create(_server, o =>
    {
        o.MaxRetries = 0;
        configure(o);
    }, _clock);

    private VaultHarness AppRole(string secretId = "secret-1", string mount = "approle") => Harness(o =>
        o.Auth = new HashiCorpVaultAuthOptions { Method = HashiCorpVaultAuthMethod.AppRole, RoleId = "role-1", SecretId = secretId, MountPath = mount == "approle" ? null : mount });

    [Fact]
    public async Task AppRole_logs_in_without_a_token_and_uses_the_token_it_was_given()
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromHours(1));
        await using var h = AppRole();
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));

        var login = Assert.Single(_server.Requests, r => r.Path == "auth/approle/login");
        Assert.Equal("POST", login.Method);
        Assert.Null(login.Token);
        var issued = _server.Requests.Where(r => r.Path.StartsWith("secret/", StringComparison.Ordinal)).Select(r => r.Token).Distinct().ToList();
        var token = Assert.Single(issued);
        Assert.NotNull(token);
        Assert.NotEqual(_server.RootToken, token);
        Assert.True(_server.IsTokenValid(token));
    }

    [Fact]
    public async Task AppRole_reads_the_secret_id_from_a_file_at_login()
    {
        _server.AddAppRole("role-1", "secret-from-file", TimeSpan.FromHours(1), mount: "approle-agents");
        var file = Path.Combine(_dir, "secret-id");
        await File.WriteAllTextAsync(file, "secret-from-file\n");
        await using var h = Harness(o => o.Auth = new HashiCorpVaultAuthOptions
        {
            Method = HashiCorpVaultAuthMethod.AppRole, RoleId = "role-1", SecretIdFile = file, MountPath = "approle-agents",
        });
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Assert.Equal(1, Count("POST", "auth/approle-agents/login"));
    }

    [Fact]
    public async Task A_refused_AppRole_login_is_a_backend_permission_error_that_does_not_show_the_secret_id()
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromHours(1));
        await using var h = AppRole(secretId: "wrong-secret-id-value");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(Db).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("AppRole login", ex.Message, StringComparison.Ordinal);
        Assert.Contains("invalid role or secret ID", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-id-value", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubernetes_logs_in_with_the_service_account_jwt_file_and_the_configured_mount()
    {
        const string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YWdlbnRzOmFnZW50c2NvcGUifQ.c2ln";
        _server.AddKubernetesRole("agentscope", jwt, TimeSpan.FromHours(1), mount: "k8s-east");
        var file = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(file, jwt);
        await using var h = Harness(o => o.Auth = new HashiCorpVaultAuthOptions
        {
            Method = HashiCorpVaultAuthMethod.Kubernetes, Role = "agentscope", JwtPath = file, MountPath = "k8s-east",
        });
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(1, Count("POST", "auth/k8s-east/login"));
        Assert.Equal(1, h.Backend.Tokens.Logins);
    }

    [Fact]
    public async Task A_rejected_kubernetes_jwt_is_a_backend_permission_error_without_the_jwt()
    {
        _server.AddKubernetesRole("agentscope", "the-right-jwt", TimeSpan.FromHours(1));
        var file = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(file, "a-stale-jwt-from-another-cluster");
        await using var h = Harness(o => o.Auth = new HashiCorpVaultAuthOptions
        {
            Method = HashiCorpVaultAuthMethod.Kubernetes, Role = "agentscope", JwtPath = file,
        });
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(Db).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("auth/kubernetes/login", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("a-stale-jwt", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_jwt_file_is_a_backend_permission_error_naming_the_file()
    {
        _server.AddKubernetesRole("agentscope", "jwt", TimeSpan.FromHours(1));
        var missing = Path.Combine(_dir, "no-such-token");
        await using var h = Harness(o => o.Auth = new HashiCorpVaultAuthOptions
        {
            Method = HashiCorpVaultAuthMethod.Kubernetes, Role = "agentscope", JwtPath = missing,
        });
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(Db).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_token_is_renewed_after_two_thirds_of_its_lease_and_stays_valid()
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromSeconds(60));
        await using var h = AppRole();
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        var token = _server.Requests[^1].Token!;

        _clock.Advance(TimeSpan.FromSeconds(30));
        await h.Backend.GetAsync(Db);
        Assert.Equal(0, Count("POST", "auth/token/renew-self"));

        _clock.Advance(TimeSpan.FromSeconds(15)); // 45 s: past 2/3 of 60 s
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(1, Count("POST", "auth/token/renew-self"));
        Assert.Equal(token, Assert.Single(_server.Requests, r => r.Path == "auth/token/renew-self").Token);

        _clock.Advance(TimeSpan.FromSeconds(50)); // 95 s: the login lease alone would have ended at 60 s
        Assert.True(_server.IsTokenValid(token));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(2, Count("POST", "auth/token/renew-self"));
        Assert.Equal(1, h.Backend.Tokens.Logins);
        Assert.All(_server.Requests.Where(r => r.Path.StartsWith("secret/", StringComparison.Ordinal)), r => Assert.Equal(token, r.Token));
    }

    [Fact]
    public async Task A_renewal_that_fails_transiently_does_not_fail_the_call_and_is_tried_again_later()
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromSeconds(60));
        await using var h = AppRole();
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _clock.Advance(TimeSpan.FromSeconds(45));
        _server.InjectFaults(503, 1, pathPrefix: "auth/token/renew-self");
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(0, h.Backend.Tokens.Renewals);

        _clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(1, h.Backend.Tokens.Renewals);
        Assert.Equal(1, h.Backend.Tokens.Logins);
    }

    [Fact]
    public async Task A_renewable_static_token_is_looked_up_once_and_renewed_before_it_expires()
    {
        var token = _server.CreateToken(ttl: TimeSpan.FromMinutes(30));
        await using var h = Harness(o => o.Auth.Token = token);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Assert.Equal(1, Count("GET", "auth/token/lookup-self"));

        _clock.Advance(TimeSpan.FromMinutes(21));
        await h.Backend.GetAsync(Db);
        Assert.Equal(1, Count("POST", "auth/token/renew-self"));
        _clock.Advance(TimeSpan.FromMinutes(25));
        Assert.True(_server.IsTokenValid(token));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
    }

    [Fact]
    public async Task Near_its_max_ttl_the_token_is_replaced_by_a_fresh_login()
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromSeconds(60), maxTtl: TimeSpan.FromSeconds(90));
        await using var h = AppRole();
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _clock.Advance(TimeSpan.FromSeconds(45)); // renewal is capped at the max TTL: 45 s left
        await h.Backend.GetAsync(Db);
        Assert.Equal(1, h.Backend.Tokens.Logins);
        _clock.Advance(TimeSpan.FromSeconds(35)); // 80 s: the renewal gives 10 s, too little to keep renewing
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(2, h.Backend.Tokens.Logins);
        Assert.Equal(2, Count("POST", "auth/token/renew-self"));
    }

    [Fact]
    public async Task A_token_that_ran_out_while_idle_is_replaced_by_logging_in_before_the_call()
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromSeconds(60));
        await using var h = AppRole();
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(2, h.Backend.Tokens.Logins);
        Assert.Equal(0, Count("POST", "auth/token/renew-self")); // a dead token is not renewed: log in straight away
        Assert.True(_server.IsTokenValid(_server.Requests[^1].Token!));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_vault_refuses_an_expired_token_the_provider_logs_in_again_once_and_retries(bool legacyErrors)
    {
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromHours(1));
        _server.LegacyPermissionErrors = legacyErrors;
        await using var h = AppRole();
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.ExpireAllTokens();

        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));
        Assert.Equal(2, h.Backend.Tokens.Logins);
        Assert.Equal(2, Count("POST", "auth/approle/login"));
        // Vault before 1.15 does not say "invalid token": lookup-self tells a dead token from a policy denial.
        Assert.Equal(legacyErrors ? 1 : 0, Count("GET", "auth/token/lookup-self"));
    }

    [Fact]
    public async Task A_refused_static_token_is_a_backend_permission_error_without_the_token()
    {
        var token = _server.CreateToken();
        await using var h = Harness(o => o.Auth.Token = token);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        _server.ExpireToken(token);
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(Db).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("refused AgentScope's token", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_static_token_that_is_already_dead_fails_at_first_use()
    {
        var token = _server.CreateToken(ttl: TimeSpan.FromMinutes(1));
        _server.ExpireToken(token);
        await using var h = Harness(o => o.Auth.Token = token);
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.DoesNotContain(token, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_namespace_header_scopes_every_request_to_the_namespace()
    {
        _server.AddMount("secret", ns: "team-a/agents");
        _server.AddAppRole("role-1", "secret-1", TimeSpan.FromHours(1), ns: "team-a/agents");
        await using var h = Harness(o =>
        {
            o.Namespace = "team-a/agents/";
            o.Auth = new HashiCorpVaultAuthOptions { Method = HashiCorpVaultAuthMethod.AppRole, RoleId = "role-1", SecretId = "secret-1" };
        });
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Assert.Equal("v1", Text(await h.Backend.GetAsync(Db)));

        Assert.All(_server.Requests, r => Assert.Equal("team-a/agents", r.Namespace));
        Assert.Contains($"{h.RootPath}/agents/alpha/db", _server.Keys(ns: "team-a/agents"));
        Assert.DoesNotContain($"{h.RootPath}/agents/alpha/db", _server.Keys());
    }

    [Fact]
    public async Task A_token_of_another_namespace_is_denied()
    {
        _server.AddMount("secret", ns: "team-b");
        _server.AddMount("secret", ns: "team-c");
        var teamB = _server.CreateToken(ns: "team-b");
        await using var h = Harness(o =>
        {
            o.Namespace = "team-c";
            o.Auth.Token = teamB;
        });
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.PutAsync(Entry("alpha", "db", "v1")).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Empty(_server.Keys(ns: "team-c"));
    }
}
