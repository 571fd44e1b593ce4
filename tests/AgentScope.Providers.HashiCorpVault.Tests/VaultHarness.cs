using AgentScope.Backends;
using AgentScope.Providers.HashiCorpVault.Internal;
using AgentScope.Testing.Emulators.HashiCorpVault;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Providers.HashiCorpVault.Tests;

/// <summary>One test server for a test class.</summary>
public sealed class VaultServerFixture : IAsyncLifetime
{
    public VaultTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await VaultTestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>A backend built the way a host builds it (AddHashiCorpVault + IHttpClientFactory), with a hermetic environment.</summary>
public sealed class VaultHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private VaultHarness(ServiceProvider services, string rootPath)
    {
        _services = services;
        RootPath = rootPath;
        Backend = services.GetRequiredService<HashiCorpVaultBackend>();
    }

    public HashiCorpVaultBackend Backend { get; }

    public ISecretBackend SecretBackend => _services.GetRequiredService<ISecretBackend>();

    /// <summary>A root path of its own, so that tests sharing a server do not see each other.</summary>
    public string RootPath { get; }

    /// <summary>
    /// Token auth with a fresh non-root token (so Deny applies), a unique root path, 1 ms retry delays, and no VAULT_*
    /// variables unless given.
    /// </summary>
    public static VaultHarness Create(VaultTestServer server, Action<HashiCorpVaultOptions>? configure = null, TimeProvider? time = null,
        IReadOnlyDictionary<string, string>? environment = null, string? rootPath = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(new VaultEnvironment(name => environment is not null && environment.TryGetValue(name, out var v) ? v : null));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var root = rootPath ?? "t" + Guid.NewGuid().ToString("N")[..12];
        services.AddHashiCorpVault(o =>
        {
            o.Address = server.Address.ToString();
            o.RootPath = root;
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
            o.Auth.Token = server.CreateToken();
            configure?.Invoke(o);
        });
        return new VaultHarness(services.BuildServiceProvider(), root);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
