using System.Diagnostics;
using AgentScope.Backends;
using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Testing.Emulators.AzureKeyVault;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>
/// Revoke against the emulator throttling above 100 requests/s: throttling happens, nothing fails, nothing is left.
/// The rate it reaches is printed, not asserted (wall-clock limits do not belong in tests on a shared machine);
/// measured with 1,000 entries: 92-97 requests/s served, about 5,700 requests in about 60 s, ~400 throttled.
/// </summary>
public sealed class RevokeUnderThrottlingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Revoking_many_entries_under_the_vaults_rate_limit_completes_without_a_failure()
    {
        const int entries = 150;
        const int limit = 100;
        await using var vault = await KeyVaultEmulator.StartAsync();
        var emulated = vault.CreateOptions();
        emulated.Retry.MaxRetries = 10;
        await using var services = new ServiceCollection()
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
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        var admin = auth.LocalAdmin();
        var agent = await auth.AuthenticateAgentAsync((await admin.CreateAgentAsync("bench")).ApiKey);
        await Parallel.ForEachAsync(Enumerable.Range(0, entries), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, ct) => await agent.StoreAsync($"key-{i}", new SecretValue("v"), cancellationToken: ct));

        vault.Faults.RequestsPerSecond = limit;
        var before = vault.Requests.Count;
        var clock = Stopwatch.StartNew();
        var destroyed = await admin.RevokeAsync("bench");
        var elapsed = clock.Elapsed;
        var served = vault.Requests.Count - before - vault.Faults.Throttled;
        var rate = served / elapsed.TotalSeconds;
        output.WriteLine($"destroyed {destroyed} in {elapsed.TotalSeconds:0.0} s; served {served} requests ({rate:0.0}/s); throttled {vault.Faults.Throttled}");

        Assert.Equal(entries, destroyed);
        Assert.True(vault.Faults.Throttled > 0, "the emulator never throttled, so retries were not exercised");
        var left = new List<EntryMetadata>();
        await foreach (var m in services.GetRequiredService<ISecretBackend>().ListAsync("bench"))
        {
            left.Add(m);
        }

        Assert.Empty(left);
    }
}
