using System.Text;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.HashiCorpVault;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

public sealed class PermissionTests(VaultServerFixture fixture) : IClassFixture<VaultServerFixture>, IDisposable
{
    private const string SecretValue = "sk_live_51Hx9PERMISSIONleakCHECK0000";

    private VaultTestServer Server => fixture.Server;

    public void Dispose() => Server.AllowAll();

    private static async Task<AgentScopeException> Fails(Func<Task> call) => await Assert.ThrowsAsync<AgentScopeException>(call);

    [Theory]
    [InlineData("data", "create", "create/update")]
    [InlineData("metadata", "update", "create/update")] // the data write created the key: its metadata write is an update
    public async Task A_write_the_policy_does_not_allow_names_the_missing_capability_and_policy_path(string kind, string denied, string reported)
    {
        var token = Server.CreateToken();
        await using var h = VaultHarness.Create(Server, o => o.Auth.Token = token);
        Server.Deny($"secret/{kind}/{h.RootPath}/agents/*", denied);
        var ex = await Fails(() => h.Backend.PutAsync(Entry("alpha", "db", SecretValue)).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains($"lacks \"{reported}\" on \"secret/{kind}/{h.RootPath}/agents/*\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"secret/{kind}/{h.RootPath}/agents/alpha/db", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SecretValue, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_update_the_policy_does_not_allow_is_reported_even_though_create_was_allowed()
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        Server.Deny($"secret/data/{h.RootPath}/agents/*", "update");
        var ex = await Fails(() => h.Backend.PutAsync(Entry("alpha", "db", "v2", version: 2)).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("create/update", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read", "data")]
    [InlineData("list", "metadata")]
    [InlineData("delete", "metadata")]
    public async Task Reads_lists_and_deletes_the_policy_does_not_allow_name_their_capability(string capability, string kind)
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Entry("alpha", "db", SecretValue));
        Server.Deny($"secret/{kind}/{h.RootPath}/agents/*", capability);
        Func<Task> call = capability switch
        {
            "read" => () => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask(),
            "list" => () => ToList(h.Backend.ListAsync("alpha")),
            _ => () => h.Backend.DeleteAsync(new EntryKey("alpha", "db")).AsTask(),
        };
        var ex = await Fails(call);
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains($"lacks \"{capability}\" on \"secret/{kind}/{h.RootPath}/agents/*\"", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretValue, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_denial_is_not_mistaken_for_a_dead_token()
    {
        Server.AddAppRole("perm-role", "perm-secret", TimeSpan.FromHours(1));
        await using var h = VaultHarness.Create(Server, o => o.Auth = new HashiCorpVaultAuthOptions
        {
            Method = HashiCorpVaultAuthMethod.AppRole, RoleId = "perm-role", SecretId = "perm-secret",
        });
        Server.LegacyPermissionErrors = true; // the worst case: a bare "permission denied", so the provider must ask lookup-self
        try
        {
            Server.Deny($"secret/data/{h.RootPath}/agents/*", "read");
            var ex = await Fails(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
            Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
            Assert.Contains("lacks \"read\"", ex.Message, StringComparison.Ordinal);
            Assert.Equal(1, h.Backend.Tokens.Logins);
        }
        finally
        {
            Server.LegacyPermissionErrors = false;
        }
    }

    [Fact]
    public async Task A_denial_inside_a_namespace_names_the_namespace()
    {
        Server.AddMount("secret", ns: "perm-ns");
        var token = Server.CreateToken(ns: "perm-ns");
        await using var h = VaultHarness.Create(Server, o =>
        {
            o.Namespace = "perm-ns";
            o.Auth.Token = token;
        });
        Server.Deny($"secret/data/{h.RootPath}/agents/*", "create");
        var ex = await Fails(() => h.Backend.PutAsync(Entry("alpha", "db", "v")).AsTask());
        Assert.Contains("in namespace 'perm-ns'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_never_appear_in_exception_messages_whatever_fails()
    {
        var token = Server.CreateToken();
        await using var h = VaultHarness.Create(Server, o =>
        {
            o.Auth.Token = token;
            o.MaxRetries = 1;
            o.MaxValueBytes = 4096;
        });
        var failures = new List<AgentScopeException>();
        async Task Capture(Func<Task> call) => failures.Add(await Fails(call));

        // too large
        await Capture(() => h.Backend.PutAsync(Entry("alpha", "big", SecretValue + new string('x', 5000))).AsTask());
        // transient failures until the retries are spent, on write and on read
        await h.Backend.PutAsync(Entry("alpha", "db", SecretValue));
        Server.InjectFaults(503, 2, pathPrefix: $"secret/data/{h.RootPath}/");
        await Capture(() => h.Backend.PutAsync(Entry("alpha", "db", SecretValue, version: 2)).AsTask());
        Server.InjectFaults(500, 2, pathPrefix: $"secret/data/{h.RootPath}/");
        await Capture(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        // a dropped connection, a policy denial, a registry conflict, a dead token
        Server.DropConnections(2, pathPrefix: $"secret/data/{h.RootPath}/");
        await Capture(() => h.Backend.PutAsync(Entry("alpha", "db", SecretValue, version: 3)).AsTask());
        Server.Deny($"secret/data/{h.RootPath}/agents/*", "update", "read");
        await Capture(() => h.Backend.PutAsync(Entry("alpha", "db", SecretValue, version: 4)).AsTask());
        await Capture(() => h.Backend.GetAsync(new EntryKey("alpha", "db")).AsTask());
        Server.AllowAll();
        await h.Backend.PutAsync(Registry("agent.alpha", SecretValue, 1));
        await Capture(() => h.Backend.PutAsync(Registry("agent.alpha", SecretValue + "-other-replica", 1)).AsTask());
        Server.ExpireToken(token);
        await Capture(() => h.Backend.PutAsync(Entry("alpha", "db", SecretValue, version: 5)).AsTask());

        Assert.Equal(8, failures.Count);
        foreach (var e in failures)
        {
            Assert.DoesNotContain(SecretValue, e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(SecretValue)), e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(token, e.ToString(), StringComparison.Ordinal);
        }

        Assert.Contains(failures, e => e.Kind == ErrorKind.ValueTooLarge);
        Assert.Contains(failures, e => e.Kind == ErrorKind.BackendUnavailable);
        Assert.Contains(failures, e => e.Kind == ErrorKind.BackendPermission);
        Assert.Contains(failures, e => e.Kind == ErrorKind.Conflict);
    }
}
