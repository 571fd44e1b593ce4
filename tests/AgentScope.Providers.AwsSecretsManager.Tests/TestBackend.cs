using System.Runtime.CompilerServices;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using Amazon.Runtime;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

internal static class TestEnvironment
{
    // Tests must never wait on (or reach) the instance metadata service when the credential or region chain falls through.
#pragma warning disable CA2255 // a module initializer is exactly right for process-wide test settings
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void DisableInstanceMetadata() => Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
}

/// <summary>A test server and a backend pointed at it, with explicit test credentials and short retry delays.</summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly HttpClient _http = new();

    private TestBackend(SecretsManagerTestServer server, AwsSecretsManagerOptions options)
    {
        Server = server;
        Options = options;
        Backend = new AwsSecretsManagerBackend(options, _http);
    }

    public SecretsManagerTestServer Server { get; }

    public AwsSecretsManagerOptions Options { get; }

    public AwsSecretsManagerBackend Backend { get; }

    public static AwsSecretsManagerOptions OptionsFor(SecretsManagerTestServer server, Action<AwsSecretsManagerOptions>? configure = null)
    {
        var options = new AwsSecretsManagerOptions
        {
            Region = SecretsManagerTestServer.Region,
            ServiceUrl = server.Url,
            Credentials = new BasicAWSCredentials(SecretsManagerTestServer.AccessKey, SecretsManagerTestServer.SecretKey),
            MaxRetries = 4,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryDelay = TimeSpan.FromMilliseconds(20),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(options);
        return options;
    }

    public static async Task<TestBackend> StartAsync(Action<AwsSecretsManagerOptions>? configure = null, Action<SecretsManagerTestServer>? server = null)
    {
        var s = await SecretsManagerTestServer.StartAsync();
        server?.Invoke(s);
        return new TestBackend(s, OptionsFor(s, configure));
    }

    public async ValueTask DisposeAsync()
    {
        Backend.Dispose();
        _http.Dispose();
        await Server.DisposeAsync();
    }

    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
