using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentScope.Backends;
using AgentScope.Providers.AwsSecretsManager;
using AgentScope.Providers.AzureKeyVault;
using AgentScope.Providers.HashiCorpVault;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using AgentScope.Testing.Emulators.AzureKeyVault;
using AgentScope.Testing.Emulators.HashiCorpVault;
using Amazon.Runtime;
using Azure.Security.KeyVault.Secrets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>
/// What each remote provider adds to one read over the raw HTTP call a program without AgentScope would make to the same
/// test server (in this process, on loopback): Vault, a GET of the KV v2 data path with the token header; Secrets Manager,
/// a hand-signed GetSecretValue POST; Key Vault, the SDK's own <c>SecretClient.GetSecretAsync</c>. The providers are
/// registered as a host registers them (DI, IHttpClientFactory), with their default options.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ProviderGetOverheadBenchmarks
{
    private const string Value = "sk_live_0123456789abcdef0123456789";
    private static readonly EntryKey Key = new("bench", "stripe-key");

    private VaultTestServer _vault = null!;
    private ServiceProvider _vaultServices = null!;
    private ISecretBackend _vaultBackend = null!;
    private HttpClient _vaultHttp = null!;
    private Uri _vaultDataUri = null!;
    private string _vaultToken = null!;

    private SecretsManagerTestServer _aws = null!;
    private ServiceProvider _awsServices = null!;
    private ISecretBackend _awsBackend = null!;
    private HttpClient _awsHttp = null!;
    private byte[] _awsBody = null!;
    private (string Date, byte[] Key)? _awsSigningKey;

    private KeyVaultEmulator _azure = null!;
    private ServiceProvider _azureServices = null!;
    private ISecretBackend _azureBackend = null!;
    private SecretClient _azureClient = null!;
    private string _azureName = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var now = DateTimeOffset.UtcNow;
        var entry = new BackendEntry(new EntryMetadata(Key, SecretKind.Generic, 1, now, now, null, Encrypted: false), Encoding.UTF8.GetBytes(Value));

        _vault = await VaultTestServer.StartAsync();
        _vaultToken = _vault.CreateToken(ttl: TimeSpan.FromHours(4));
        _vaultServices = new ServiceCollection().AddHashiCorpVault(o =>
        {
            o.Address = _vault.Address.ToString();
            o.Auth.Token = _vaultToken;
        }).BuildServiceProvider();
        _vaultBackend = _vaultServices.GetRequiredService<ISecretBackend>();
        await _vaultBackend.PutAsync(entry);
        _vaultHttp = new HttpClient(new SocketsHttpHandler());
        _vaultDataUri = new Uri(_vault.Address, "v1/secret/data/agentscope/agents/bench/stripe-key");

        _aws = await SecretsManagerTestServer.StartAsync();
        _awsServices = new ServiceCollection().AddAwsSecretsManager(o =>
        {
            o.Region = SecretsManagerTestServer.Region;
            o.ServiceUrl = _aws.Url;
            o.Credentials = new BasicAWSCredentials(SecretsManagerTestServer.AccessKey, SecretsManagerTestServer.SecretKey);
        }).BuildServiceProvider();
        _awsBackend = _awsServices.GetRequiredService<ISecretBackend>();
        await _awsBackend.PutAsync(entry);
        _awsHttp = new HttpClient(new SocketsHttpHandler());
        _awsBody = """{"SecretId":"agentscope/bench/stripe-key"}"""u8.ToArray();

        _azure = await KeyVaultEmulator.StartAsync();
        var emulated = _azure.CreateOptions();
        _azureServices = new ServiceCollection().AddAzureKeyVault(o =>
        {
            o.VaultUri = emulated.VaultUri;
            o.Credential = emulated.Credential;
            o.ConfigureClient = emulated.ConfigureClient;
        }).BuildServiceProvider();
        _azureBackend = _azureServices.GetRequiredService<ISecretBackend>();
        await _azureBackend.PutAsync(entry);
        _azureName = _azure.LiveNames().Single();
        _azureClient = _azure.CreateClient();

        // Every call is checked once, so that a broken setup fails here and not as a fast wrong number.
        Check(await VaultRawGet() > Value.Length && await AwsRawGet() > Value.Length && await AzureRawGet() == Value.Length);
        Check(await VaultRawGetValue() == Value.Length && await AwsRawGetValue() > Value.Length);
        Check(await VaultProviderGet() == Value.Length && await AwsProviderGet() == Value.Length && await AzureProviderGet() == Value.Length);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _vaultHttp.Dispose();
        _awsHttp.Dispose();
        await _vaultServices.DisposeAsync();
        await _awsServices.DisposeAsync();
        await _azureServices.DisposeAsync();
        await _vault.DisposeAsync();
        await _aws.DisposeAsync();
        await _azure.DisposeAsync();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Vault")]
    public async Task<int> VaultRawGet()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _vaultDataUri);
        request.Headers.TryAddWithoutValidation("X-Vault-Token", _vaultToken);
        using var response = await _vaultHttp.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsByteArrayAsync()).Length;
    }

    [Benchmark, BenchmarkCategory("Vault")]
    public async Task<int> VaultRawGetValue()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _vaultDataUri);
        request.Headers.TryAddWithoutValidation("X-Vault-Token", _vaultToken);
        using var response = await _vaultHttp.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return json.RootElement.GetProperty("data").GetProperty("data").GetProperty("value").GetString()!.Length;
    }

    [Benchmark, BenchmarkCategory("Vault")]
    public async Task<int> VaultProviderGet() => (await _vaultBackend.GetAsync(Key))!.Value.Length;

    [Benchmark(Baseline = true), BenchmarkCategory("AWS")]
    public async Task<int> AwsRawGet()
    {
        using var request = SignedGetSecretValue();
        using var response = await _awsHttp.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsByteArrayAsync()).Length;
    }

    [Benchmark, BenchmarkCategory("AWS")]
    public async Task<int> AwsRawGetValue()
    {
        using var request = SignedGetSecretValue();
        using var response = await _awsHttp.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return json.RootElement.GetProperty("SecretString").GetString()!.Length;
    }

    [Benchmark, BenchmarkCategory("AWS")]
    public async Task<int> AwsProviderGet() => (await _awsBackend.GetAsync(Key))!.Value.Length;

    [Benchmark(Baseline = true), BenchmarkCategory("Azure")]
    public async Task<int> AzureRawGet() => (await _azureClient.GetSecretAsync(_azureName)).Value.Value.Length;

    [Benchmark, BenchmarkCategory("Azure")]
    public async Task<int> AzureProviderGet() => (await _azureBackend.GetAsync(Key))!.Value.Length;

    /// <summary>
    /// <c>--provider-overhead</c>: the same calls measured interleaved, for a machine shared with other work: blocks of 50
    /// raw calls, 50 raw calls that also read the value out of the answer, and 50 provider gets take turns (the order rotated
    /// every round), so all see the same background load; the median of the per-block means is reported for each.
    /// Prints a Markdown table. <c>--rounds N</c> sets the number of rounds (1000); <c>--only vault|aws|azure</c> measures one
    /// provider (all three are still set up, so the process looks the same).
    /// </summary>
    public static async Task<int> RunInterleavedAsync(string[] args)
    {
        var rounds = 1000;
        string? only = null;
        for (var a = 0; a + 1 < args.Length; a += 2)
        {
            switch (args[a])
            {
                case "--rounds":
                    rounds = int.Parse(args[a + 1], CultureInfo.InvariantCulture);
                    break;
                case "--only":
                    only = args[a + 1];
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[a]}; use --rounds N and --only vault|aws|azure");
            }
        }

        const int block = 50;
        var b = new ProviderGetOverheadBenchmarks();
        await b.Setup();
        try
        {
            (string Id, string Name, Func<Task<int>> Raw, Func<Task<int>> RawValue, Func<Task<int>> Provider)[] all =
            [
                ("vault", "HashiCorp Vault", b.VaultRawGet, b.VaultRawGetValue, b.VaultProviderGet),
                ("aws", "AWS Secrets Manager", b.AwsRawGet, b.AwsRawGetValue, b.AwsProviderGet),
                ("azure", "Azure Key Vault", b.AzureRawGet, b.AzureRawGet, b.AzureProviderGet),
            ];
            var sets = all.Where(s => only is null || string.Equals(s.Id, only, StringComparison.OrdinalIgnoreCase)).ToArray();
            if (sets.Length == 0)
            {
                throw new ArgumentException($"--only {only}: no such provider; use vault, aws or azure");
            }

            // Warm-up: long enough, for every call, that tiered compilation has promoted the hot paths (it waits for a pause
            // in new compilations) before anything is measured.
            var warm = System.Diagnostics.Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(10))
            {
                foreach (var (_, _, raw, rawValue, provider) in sets)
                {
                    await raw();
                    await rawValue();
                    await provider();
                }
            }

            Console.WriteLine($"| provider | raw call | raw call + reading the value | provider get | overhead over the raw call | over the raw call + value |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var (_, name, raw, rawValue, provider) in sets)
            {
                var means = new[] { new List<double>(rounds), new List<double>(rounds), new List<double>(rounds) };
                Func<Task<int>>[] calls = [raw, rawValue, provider];
                for (var r = 0; r < rounds; r++)
                {
                    // Rotate which call goes first, so none always follows the same one.
                    for (var i = 0; i < 3; i++)
                    {
                        var which = (r + i) % 3;
                        means[which].Add(await BlockAsync(calls[which], block));
                    }
                }

                var (rawMedian, valueMedian, providerMedian) = (Median(means[0]), Median(means[1]), Median(means[2]));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {rawMedian:0.0} µs | {valueMedian:0.0} µs | {providerMedian:0.0} µs | {(providerMedian / rawMedian) - 1:+0%;-0%} ({providerMedian - rawMedian:+0.0;-0.0} µs) | {(providerMedian / valueMedian) - 1:+0%;-0%} ({providerMedian - valueMedian:+0.0;-0.0} µs) |"));
            }
        }
        finally
        {
            await b.Cleanup();
        }

        return 0;
    }

    private static async Task<double> BlockAsync(Func<Task<int>> call, int count)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            await call();
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds / count;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    // SigV4 as AWS documents it, written out for exactly this request: what a program without an SDK would send. The
    // signing key (four HMACs) is derived once per date and kept, as AWS's SigV4 documentation suggests and as the
    // provider does, so the baseline is the cheapest honest signed call rather than one the provider beats by caching.
    private HttpRequestMessage SignedGetSecretValue()
    {
        const string target = "secretsmanager.GetSecretValue";
        const string contentType = "application/x-amz-json-1.1";
        var host = _aws.Url.Authority;
        var amzDate = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        const string signedHeaders = "content-type;host;x-amz-date;x-amz-target";
        var canonical = $"POST\n/\n\ncontent-type:{contentType}\nhost:{host}\nx-amz-date:{amzDate}\nx-amz-target:{target}\n\n{signedHeaders}\n{Hex(SHA256.HashData(_awsBody))}";
        var scope = $"{date}/{SecretsManagerTestServer.Region}/secretsmanager/aws4_request";
        var toSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        if (_awsSigningKey is not { } cached || cached.Date != date)
        {
            var derived = Hmac(Encoding.UTF8.GetBytes("AWS4" + SecretsManagerTestServer.SecretKey), date);
            derived = Hmac(derived, SecretsManagerTestServer.Region);
            derived = Hmac(derived, "secretsmanager");
            derived = Hmac(derived, "aws4_request");
            _awsSigningKey = cached = (date, derived);
        }

        var signature = Hex(Hmac(cached.Key, toSign));

        var request = new HttpRequestMessage(HttpMethod.Post, _aws.Url) { Content = new ByteArrayContent(_awsBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={SecretsManagerTestServer.AccessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
        return request;
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static void Check(bool ok)
    {
        if (!ok)
        {
            throw new InvalidOperationException("a provider benchmark call did not return the stored value");
        }
    }
}
