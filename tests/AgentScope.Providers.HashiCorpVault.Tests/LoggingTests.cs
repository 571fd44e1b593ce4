using AgentScope.Backends;
using AgentScope.Providers.HashiCorpVault.Internal;
using AgentScope.Testing;
using AgentScope.Testing.Emulators.HashiCorpVault;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

public sealed class LoggingTests
{
    [Fact]
    public async Task At_trace_level_the_backend_logs_its_retries_but_no_request_token_or_value()
    {
        await using var server = await VaultTestServer.StartAsync();
        var token = server.CreateToken();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .AddSingleton(new VaultEnvironment(_ => null))
            .AddHashiCorpVault(o =>
            {
                o.Address = server.Address.ToString();
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                o.Auth.Token = token;
            });
        await using var sp = services.BuildServiceProvider();
        var backend = sp.GetRequiredService<ISecretBackend>();

        const string value = "sk_live_logging_canary_0123456789";
        server.InjectFaults(503, 1, pathPrefix: "secret/data/");
        await backend.PutAsync(Entry("alpha", "stripe-key", value));
        Assert.Equal(value, Text(await backend.GetAsync(new EntryKey("alpha", "stripe-key"))));

        var entries = logs.Entries;
        Assert.Contains(entries, e => e.Contains("retry", StringComparison.OrdinalIgnoreCase)); // the backend's own log is captured
        Assert.DoesNotContain(entries, e => e.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Contains(value, StringComparison.Ordinal));
    }
}
