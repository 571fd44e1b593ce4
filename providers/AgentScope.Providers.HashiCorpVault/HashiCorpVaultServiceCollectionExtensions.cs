using System.Security.Cryptography.X509Certificates;
using AgentScope.Backends;
using AgentScope.Providers.HashiCorpVault.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentScope.Providers.HashiCorpVault;

/// <summary>Registers the HashiCorp Vault backend as the <see cref="ISecretBackend"/>.</summary>
public static class HashiCorpVaultServiceCollectionExtensions
{
    /// <summary>
    /// Adds the HashiCorp Vault backend configured in code. The options (with the <c>VAULT_ADDR</c>, <c>VAULT_TOKEN</c>,
    /// <c>VAULT_NAMESPACE</c> and <c>VAULT_CACERT</c> fallbacks) are validated when the backend is first resolved,
    /// every problem reported in one invalid-input error.
    /// </summary>
    public static IServiceCollection AddHashiCorpVault(this IServiceCollection services, Action<HashiCorpVaultOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HashiCorpVaultOptions>().Configure(configure);
        return AddBackend(services);
    }

    /// <summary>
    /// Adds the HashiCorp Vault backend bound from a configuration section: the <c>"Backend"</c> section of
    /// <c>agentscope.json</c>, e.g. <c>{"Kind": "HashiCorpVault", "Address": "https://vault:8200", "Auth": {"Method": "AppRole", "RoleId": "...", "SecretIdFile": "/run/secret-id"}}</c>.
    /// </summary>
    public static IServiceCollection AddHashiCorpVault(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HashiCorpVaultOptions>().Configure(options => configuration.Bind(options));
        return AddBackend(services);
    }

    private static IServiceCollection AddBackend(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(VaultEnvironment.Process);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<HashiCorpVaultOptions>>().Value.Resolve(sp.GetRequiredService<VaultEnvironment>().Get));
        services.AddHttpClient(VaultTransport.HttpClientName)
            .ConfigureHttpClient((sp, client) => client.Timeout = sp.GetRequiredService<VaultSettings>().Timeout)
            .ConfigurePrimaryHttpMessageHandler(sp => CreateHandler(sp.GetRequiredService<VaultSettings>()))
            // The factory's per-request logging handlers (two scopes and four log calls a request) cost more than anything
            // else AgentScope adds to a read; the backend logs retries and failures itself. They would also log paths,
            // which name agents and labels. A host can add its own handlers to this named client.
            .RemoveAllLoggers();
        services.TryAddSingleton(sp => new HashiCorpVaultBackend(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<VaultSettings>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger<HashiCorpVaultBackend>() ?? (ILogger)NullLogger.Instance));
        services.AddSingleton<ISecretBackend>(sp => sp.GetRequiredService<HashiCorpVaultBackend>());
        return services;
    }

    private static SocketsHttpHandler CreateHandler(VaultSettings settings)
    {
        var handler = new SocketsHttpHandler();
        if (settings.SkipTlsVerify)
        {
#pragma warning disable CA5359 // Only when the operator set SkipTlsVerify explicitly; never from the environment.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (settings.CaCertificateFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                // As Vault's own CLI: a private CA usually publishes no revocation list.
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(roots);
            handler.SslOptions.CertificateChainPolicy = policy;
        }

        return handler;
    }
}
