using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Providers.HashiCorpVault.Internal;
using AgentScope.Testing.Emulators.HashiCorpVault;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Providers.HashiCorpVault.Tests;

/// <summary>The AgentScope core running on the Vault backend: the registry's read-modify-writes go through check-and-set.</summary>
public sealed class CoreOverVaultTests(VaultServerFixture fixture) : IClassFixture<VaultServerFixture>
{
    private VaultTestServer Server => fixture.Server;

    private ServiceProvider Build(string root, bool clientSideEncryption)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IAuditSink>(NullAuditSink.Instance);
        services.AddSingleton(new VaultEnvironment(_ => null));
        services.AddAgentScope(o =>
        {
            o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            o.ClientSideEncryption = clientSideEncryption;
        });
        var token = Server.CreateToken();
        services.AddHashiCorpVault(o =>
        {
            o.Address = Server.Address.ToString();
            o.RootPath = root;
            o.Auth.Token = token;
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
        });
        return services.BuildServiceProvider();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_agent_is_created_stores_and_reads_a_secret_and_revoke_leaves_nothing_behind(bool clientSideEncryption)
    {
        var root = "core" + Guid.NewGuid().ToString("N")[..8];
        await using var services = Build(root, clientSideEncryption);
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        var admin = auth.LocalAdmin();

        var created = await admin.CreateAgentAsync("support-bot");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        await vault.StoreAsync("stripe-key", new SecretValue("sk_test_core_over_vault"));
        await vault.StoreAsync("stripe-key", new SecretValue("sk_test_core_over_vault_2"));
        await vault.StoreAsync("db.password", new SecretValue("hunter2"));
        Assert.Equal("sk_test_core_over_vault_2", (await vault.GetAsync("stripe-key")).Value.Reveal());
        Assert.Equal(2, (await vault.ListAsync()).Count);
        await admin.RotateKeyAsync("support-bot");

        var stored = Server.ReadData($"{root}/agents/support-bot/stripe-key")!;
        Assert.Equal(clientSideEncryption ? "base64" : "utf8", (string?)stored["encoding"]);

        Assert.Equal(2, await admin.RevokeAsync("support-bot"));
        Assert.DoesNotContain(Server.Keys(), k => k.StartsWith($"{root}/agents/support-bot/", StringComparison.Ordinal));
        Assert.Contains($"{root}/agents/_registry/agent.support-bot", Server.Keys());
        Assert.Equal(AgentStatus.Revoked, (await admin.GetAgentAsync("support-bot")).Status);
        await Assert.ThrowsAsync<AgentScopeException>(() => auth.AuthenticateAgentAsync(created.ApiKey));
    }

    [Fact]
    public async Task A_revoke_cut_off_by_dropped_connections_is_finished_by_sweep()
    {
        var root = "drop" + Guid.NewGuid().ToString("N")[..8];
        await using var services = Build(root, clientSideEncryption: true);
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        var admin = auth.LocalAdmin();
        var alpha = await admin.CreateAgentAsync("alpha");
        var beta = await admin.CreateAgentAsync("beta");
        var vault = await auth.AuthenticateAgentAsync(alpha.ApiKey);
        for (var i = 0; i < 6; i++)
        {
            await vault.StoreAsync($"a-{i}", new SecretValue($"value-a-{i}"));
            await vault.StoreAsync($"b-{i}", new SecretValue($"value-b-{i}"));
        }

        await (await auth.AuthenticateAgentAsync(beta.ApiKey)).StoreAsync("kept", new SecretValue("beta-value"));
        string AlphaPath(string label) => $"{root}/agents/alpha/{label}";

        // Every attempt to delete one of alpha's b-* entries loses its connection, retries included: the revoke stops midway.
        Server.DropConnections(int.MaxValue, pathPrefix: $"secret/metadata/{AlphaPath("b-")}");
        try
        {
            var e = await Assert.ThrowsAsync<AgentScopeException>(() => admin.RevokeAsync("alpha"));
            Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
            Assert.Contains("unreachable", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Server.ClearFaults();
        }

        Assert.Equal(AgentStatus.Revoking, (await admin.GetAgentAsync("alpha")).Status);
        Assert.Contains(Server.Keys(), k => k.StartsWith(AlphaPath("b-"), StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<AgentScopeException>(() => auth.AuthenticateAgentAsync(alpha.ApiKey));
        Assert.Equal(ErrorKind.AgentRevoked, refused.Kind);

        var report = await admin.SweepAsync();

        Assert.Equal(["alpha"], report.RevokesFinished);
        Assert.Equal(AgentStatus.Revoked, (await admin.GetAgentAsync("alpha")).Status);
        Assert.DoesNotContain(Server.Keys(), k => k.StartsWith(AlphaPath(""), StringComparison.Ordinal));
        Assert.Contains($"{root}/agents/beta/kept", Server.Keys());
        Assert.Contains(Server.Requests, r => r.Method == "DELETE" && r.Path.StartsWith($"secret/metadata/{AlphaPath("b-")}", StringComparison.Ordinal));
    }
}
