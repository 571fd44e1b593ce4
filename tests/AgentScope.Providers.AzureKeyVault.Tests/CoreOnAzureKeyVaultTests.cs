using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.AzureKeyVault;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>The AgentScope core on top of the Azure provider: an agent's lifecycle ends with nothing left in the vault.</summary>
public sealed class CoreOnAzureKeyVaultTests : IAsyncLifetime
{
    private KeyVaultEmulator _vault = null!;
    private ServiceProvider? _services;

    public async Task InitializeAsync() => _vault = await KeyVaultEmulator.StartAsync();

    // The core with the Azure backend on the emulator; the pipeline's retries are fast (10 ms base), so under
    // throttling every retry waits exactly the vault's Retry-After.
    private AgentScopeAuthenticator Start(int maxRetries)
    {
        var emulated = _vault.CreateOptions();
        emulated.Retry.MaxRetries = maxRetries;
        _services = new ServiceCollection()
            .AddAgentScope(o =>
            {
                o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
                o.ClientSideEncryption = true;
            })
            .AddSingleton<IAuditSink>(NullAuditSink.Instance)
            .AddAzureKeyVault(o =>
            {
                o.VaultUri = emulated.VaultUri;
                o.Credential = emulated.Credential;
                o.ConfigureClient = emulated.ConfigureClient;
                o.Retry = emulated.Retry;
                o.DeletePollingInterval = emulated.DeletePollingInterval;
            })
            .BuildServiceProvider();
        return _services.GetRequiredService<AgentScopeAuthenticator>();
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        Assert.Empty(_vault.Bugs);
        await _vault.DisposeAsync();
    }

    private async Task<List<EntryKey>> ScanAsync()
    {
        var keys = new List<EntryKey>();
        await foreach (var m in _services!.GetRequiredService<ISecretBackend>().ListAllAsync())
        {
            keys.Add(m.Key);
        }

        return keys;
    }

    [Fact]
    public async Task An_agent_stores_and_reads_encrypted_secrets_and_revoke_leaves_nothing_behind()
    {
        var auth = Start(maxRetries: 3);
        var admin = auth.LocalAdmin();
        var created = await admin.CreateAgentAsync("support-bot");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        await vault.StoreAsync("stripe.refund", new SecretValue("sk_live_value_1"));
        await vault.StoreAsync("Stripe.Refund", new SecretValue("sk_live_value_2"));

        Assert.Equal("sk_live_value_1", (await vault.GetAsync("stripe.refund")).Value.Reveal());
        Assert.Equal(2, (await vault.ListAsync()).Count);
        Assert.DoesNotContain(_vault.LiveNames(), n => n.Contains("stripe", StringComparison.OrdinalIgnoreCase));

        Assert.Equal(2, await admin.RevokeAsync("support-bot"));

        Assert.DoesNotContain(await ScanAsync(), k => k.Namespace == "support-bot");
        Assert.Empty(_vault.DeletedNames()); // purged, not merely soft-deleted
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => auth.AuthenticateAgentAsync(created.ApiKey));
        Assert.Equal(ErrorKind.AgentRevoked, ex.Kind);
    }

    [Fact]
    public async Task A_revoke_interrupted_by_an_unavailable_vault_is_finished_by_sweep()
    {
        var auth = Start(maxRetries: 1);
        var admin = auth.LocalAdmin();
        var created = await admin.CreateAgentAsync("batch-bot");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        for (var i = 0; i < 5; i++)
        {
            await vault.StoreAsync($"key-{i}", new SecretValue($"value-{i}"));
        }

        _vault.Faults.FailNext(1000, 503, when: r => r.Operation == "DeleteSecret");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => admin.RevokeAsync("batch-bot"));
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Equal(AgentStatus.Revoking, (await admin.GetAgentAsync("batch-bot")).Status);
        Assert.Contains(await ScanAsync(), k => k.Namespace == "batch-bot");

        _vault.Faults.Clear();
        var report = await admin.SweepAsync();

        Assert.Equal(["batch-bot"], report.RevokesFinished);
        Assert.Equal(AgentStatus.Revoked, (await admin.GetAgentAsync("batch-bot")).Status);
        Assert.DoesNotContain(await ScanAsync(), k => k.Namespace == "batch-bot");
        Assert.Empty(_vault.DeletedNames());
    }

    [Fact]
    public async Task A_revoke_against_a_throttling_vault_finishes_without_a_failure()
    {
        // Enough retries to outlast a one-second window that other workers keep filling; the production default
        // (5 retries from a 1 s base, doubling, with jitter) spans 31 s, three of Key Vault's 10-second windows.
        var auth = Start(maxRetries: 10);
        var admin = auth.LocalAdmin();
        var created = await admin.CreateAgentAsync("busy-bot");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        const int entries = 40;
        await Parallel.ForEachAsync(Enumerable.Range(0, entries), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, ct) => await vault.StoreAsync($"key-{i}", new SecretValue($"value-{i}"), cancellationToken: ct));

        // Each delete is DELETE + polling + purge: well over the limit at the core's concurrency of 8.
        _vault.Faults.RequestsPerSecond = 40;
        Assert.Equal(entries, await admin.RevokeAsync("busy-bot"));

        Assert.True(_vault.Faults.Throttled > 0, "the vault never throttled, so this proved nothing");
        _vault.Faults.Clear();
        Assert.DoesNotContain(await ScanAsync(), k => k.Namespace == "busy-bot");
        Assert.Empty(_vault.DeletedNames());
    }
}
