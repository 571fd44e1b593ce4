using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

/// <summary>The AgentScope core on top of the provider and the test server: what a user of <c>agentscope serve</c> gets.</summary>
public sealed class CoreOverAwsTests
{
    private static ServiceProvider Build(SecretsManagerTestServer server, bool clientSideEncryption)
    {
        var test = TestBackend.OptionsFor(server);
        return new ServiceCollection()
            .AddAgentScope(o =>
            {
                o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
                o.ClientSideEncryption = clientSideEncryption;
            })
            .AddSingleton<IAuditSink>(NullAuditSink.Instance)
            .AddAwsSecretsManager(o =>
            {
                o.Region = test.Region;
                o.ServiceUrl = test.ServiceUrl;
                o.Credentials = test.Credentials;
                o.MaxRetries = 1;
                o.RetryBaseDelay = test.RetryBaseDelay;
                o.MaxRetryDelay = test.MaxRetryDelay;
            })
            .BuildServiceProvider();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_agent_stores_reads_lists_and_deletes_its_own_secrets(bool clientSideEncryption)
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        await using var sp = Build(server, clientSideEncryption);
        var auth = sp.GetRequiredService<AgentScopeAuthenticator>();
        await auth.InitializeAsync();
        var created = await auth.LocalAdmin().CreateAgentAsync("alpha");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);

        await vault.StoreAsync("stripe-key", new SecretValue("sk_test_123"));
        await vault.StoreAsync("stripe-key", new SecretValue("sk_test_456"));
        var read = await vault.GetAsync("stripe-key");
        Assert.Equal("sk_test_456", read.Value.Reveal());
        Assert.Equal(2, read.Version);
        Assert.Equal(["stripe-key"], (await vault.ListAsync()).Select(s => s.Label));
        Assert.Contains("agentscope/alpha/stripe-key", server.LiveNames());
        Assert.Contains(server.LiveNames(), n => n.StartsWith("agentscope/_registry/", StringComparison.Ordinal));

        await vault.DeleteAsync("stripe-key");
        Assert.DoesNotContain("agentscope/alpha/stripe-key", server.LiveNames());
    }

    [Fact]
    public async Task A_revoke_interrupted_midway_leaves_the_agent_unusable_and_sweep_finishes_it()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        await using var sp = Build(server, clientSideEncryption: true);
        var auth = sp.GetRequiredService<AgentScopeAuthenticator>();
        await auth.InitializeAsync();
        var admin = auth.LocalAdmin();
        var alpha = await admin.CreateAgentAsync("alpha");
        var beta = await admin.CreateAgentAsync("beta");
        var vault = await auth.AuthenticateAgentAsync(alpha.ApiKey);
        for (var i = 0; i < 20; i++)
        {
            await vault.StoreAsync($"key-{i:D2}", new SecretValue($"value-{i}"));
        }

        await (await auth.AuthenticateAgentAsync(beta.ApiKey)).StoreAsync("kept", new SecretValue("beta-value"));

        // The service fails every DeleteSecret after the fifth: the revoke stops midway.
        server.BreakAfter("DeleteSecret", 5);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => admin.RevokeAsync("alpha"));
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Equal(AgentStatus.Revoking, (await admin.GetAgentAsync("alpha")).Status);
        Assert.Contains(server.LiveNames(), n => n.StartsWith("agentscope/alpha/", StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<AgentScopeException>(() => auth.AuthenticateAgentAsync(alpha.ApiKey));
        Assert.NotEqual(ErrorKind.BackendUnavailable, refused.Kind);

        server.ClearFaults();
        var report = await admin.SweepAsync();
        Assert.Equal(["alpha"], report.RevokesFinished);
        Assert.Equal(AgentStatus.Revoked, (await admin.GetAgentAsync("alpha")).Status);
        Assert.DoesNotContain(server.LiveNames(), n => n.StartsWith("agentscope/alpha/", StringComparison.Ordinal));
        Assert.Empty(server.ScheduledNames());
        Assert.Contains("agentscope/beta/kept", server.LiveNames());
    }
}
