using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Providers.AwsSecretsManager;
using AgentScope.Providers.AzureKeyVault;
using AgentScope.Providers.HashiCorpVault;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using AgentScope.Testing.Emulators.AzureKeyVault;
using AgentScope.Testing.Emulators.HashiCorpVault;
using Amazon.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>
/// <c>--revoke-throughput</c>: revokes an agent holding 1,000 entries through the core against each provider's test server
/// while it throttles at the issue's rate (Vault 100 requests/s, Secrets Manager DeleteSecret 50/s, Key Vault 100
/// requests/s), and reports failures, what is left, and the rate the server actually served against its limit.
/// One run each, timed with a stopwatch: a minute-long run is a throughput measurement, not a BenchmarkDotNet micro-benchmark.
/// The providers keep their default options; only the endpoint and credentials point at the test servers (and, for Key
/// Vault, the soft-delete polling interval is the emulator's pace: it deletes in 40 ms, a real vault in seconds).
/// </summary>
public static class RevokeThroughput
{
    private const string Agent = "bench";

    /// <summary>Runs the selected providers (default all) and prints a Markdown table; exit code 1 if any revoke failed.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var entries = 1000;
        string[] providers = ["vault", "aws", "azure"];
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--entries":
                    entries = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--providers":
                    providers = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                default:
                    await Console.Error.WriteLineAsync($"unknown argument '{args[i]}': use --entries N and --providers vault,vault-headers,aws,azure");
                    return 2;
            }
        }

        var results = new List<Result>();
        foreach (var provider in providers)
        {
            await Console.Error.WriteLineAsync($"{provider}: storing {entries} entries, then revoking under throttling...");
            var result = provider switch
            {
                "vault" => await VaultAsync(entries, responseHeaders: false),
                "vault-headers" => await VaultAsync(entries, responseHeaders: true),
                "aws" => await AwsAsync(entries),
                "azure" => await AzureAsync(entries),
                _ => throw new ArgumentException($"unknown provider '{provider}'"),
            };
            await Console.Error.WriteLineAsync(result.ToString());
            results.Add(result);
        }

        Console.WriteLine();
        Console.WriteLine("| provider | server's limit | entries | destroyed | failures | left behind | revoke time | served | throttled | achieved rate | of limit |");
        Console.WriteLine("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Provider} | {r.Limit} | {r.Entries} | {r.Destroyed} | {r.Error ?? "0"} | {r.Left} | {r.Elapsed.TotalSeconds:0.0} s | {r.Served} | {r.Throttled} | {r.Rate:0.0}/s | {r.Rate / r.PerSecond:0%} |"));
        }

        return results.All(r => r.Error is null && r.Left == 0 && r.Destroyed == r.Entries) ? 0 : 1;
    }

    private static async Task<Result> VaultAsync(int entries, bool responseHeaders)
    {
        const double limit = 100;
        await using var server = await VaultTestServer.StartAsync();
        var token = server.CreateToken(ttl: TimeSpan.FromHours(4));
        await using var services = Core().AddHashiCorpVault(o =>
        {
            o.Address = server.Address.ToString();
            o.Auth.Token = token;
        }).BuildServiceProvider();

        (int Requests, int Throttled) Count() => (server.RequestCount, server.ThrottledCount);
        var run = await FillAndRevokeAsync(services, entries, () => server.SetRateLimit(limit, responseHeaders), server.ClearRateLimit, Count);
        var left = server.Keys().Count(k => k.StartsWith($"agentscope/agents/{Agent}/", StringComparison.Ordinal));
        var name = responseHeaders ? "HashiCorp Vault (quota with Retry-After)" : "HashiCorp Vault";
        return new Result(name, $"{limit} requests/s, all requests", limit, entries, run, left);
    }

    private static async Task<Result> AwsAsync(int entries)
    {
        const double limit = 50;
        await using var server = await SecretsManagerTestServer.StartAsync();
        await using var services = Core().AddAwsSecretsManager(o =>
        {
            o.Region = SecretsManagerTestServer.Region;
            o.ServiceUrl = server.Url;
            o.Credentials = new BasicAWSCredentials(SecretsManagerTestServer.AccessKey, SecretsManagerTestServer.SecretKey);
        }).BuildServiceProvider();

        // Only DeleteSecret is limited, so only DeleteSecret is counted.
        (int Requests, int Throttled) Count() => (server.Calls("DeleteSecret"), server.ThrottledCount);
        var run = await FillAndRevokeAsync(services, entries, () => server.SetRateLimit("DeleteSecret", limit),
            () => server.SetRateLimit("DeleteSecret", 1_000_000), Count);
        var prefix = $"agentscope/{Agent}/";
        var left = server.LiveNames().Count(n => n.StartsWith(prefix, StringComparison.Ordinal))
                   + server.ScheduledNames().Count(n => n.StartsWith(prefix, StringComparison.Ordinal));
        return new Result("AWS Secrets Manager", $"{limit} DeleteSecret/s", limit, entries, run, left);
    }

    private static async Task<Result> AzureAsync(int entries)
    {
        const int limit = 100;
        await using var vault = await KeyVaultEmulator.StartAsync();
        var emulated = vault.CreateOptions();
        await using var services = Core().AddAzureKeyVault(o =>
        {
            o.VaultUri = emulated.VaultUri;
            o.Credential = emulated.Credential;
            o.ConfigureClient = emulated.ConfigureClient;
            o.DeletePollingInterval = emulated.DeletePollingInterval;
        }).BuildServiceProvider();

        (int Requests, int Throttled) Count() => (vault.Requests.Count, vault.Faults.Throttled);
        var run = await FillAndRevokeAsync(services, entries, () => vault.Faults.RequestsPerSecond = limit, () => vault.Faults.RequestsPerSecond = null, Count);
        var left = vault.DeletedNames().Count;
        await foreach (var _ in services.GetRequiredService<ISecretBackend>().ListAsync(Agent))
        {
            left++;
        }

        return new Result("Azure Key Vault", $"{limit} requests/s, all requests", limit, entries, run, left);
    }

    private static IServiceCollection Core() => new ServiceCollection()
        .AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))
        .AddSingleton<IAuditSink>(NullAuditSink.Instance);

    private static async Task<Run> FillAndRevokeAsync(ServiceProvider services, int entries, Action throttle, Action unthrottle, Func<(int Requests, int Throttled)> count)
    {
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        await auth.InitializeAsync();
        var admin = auth.LocalAdmin();
        var vault = await auth.AuthenticateAgentAsync((await admin.CreateAgentAsync(Agent)).ApiKey);
        await Parallel.ForEachAsync(Enumerable.Range(0, entries), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, ct) => await vault.StoreAsync($"key-{i:D4}", new SecretValue("v-0123456789abcdef"), cancellationToken: ct));

        throttle();
        var before = count();
        var clock = Stopwatch.StartNew();
        int destroyed = 0;
        string? error = null;
        try
        {
            destroyed = await admin.RevokeAsync(Agent);
        }
        catch (AgentScopeException e)
        {
            error = $"{e.Kind}: {e.Message}";
        }

        var elapsed = clock.Elapsed;
        var after = count();
        unthrottle();
        var status = (await admin.GetAgentAsync(Agent)).Status;
        if (error is null && status != AgentStatus.Revoked)
        {
            error = $"agent left {status}";
        }

        var throttled = after.Throttled - before.Throttled;
        return new Run(destroyed, error, elapsed, after.Requests - before.Requests - throttled, throttled);
    }

    private sealed record Run(int Destroyed, string? Error, TimeSpan Elapsed, int Served, int Throttled);

    private sealed record Result(string Provider, string Limit, double PerSecond, int Entries, Run Run, int Left)
    {
        public int Destroyed => Run.Destroyed;
        public string? Error => Run.Error;
        public TimeSpan Elapsed => Run.Elapsed;
        public int Served => Run.Served;
        public int Throttled => Run.Throttled;
        public double Rate => Served / Elapsed.TotalSeconds;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Provider}: destroyed {Destroyed}/{Entries} in {Elapsed.TotalSeconds:0.0} s, {Error ?? "no failure"}, {Left} left; served {Served} ({Rate:0.0}/s, {Rate / PerSecond:0%} of {PerSecond}/s), throttled {Throttled}");
    }
}
