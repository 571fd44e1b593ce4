using AgentScope.Backends;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>Registration of the Azure Key Vault backend as AgentScope's <see cref="ISecretBackend"/>.</summary>
public static class AzureKeyVaultServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AzureKeyVaultBackend"/> as the <see cref="ISecretBackend"/>, built from
    /// <see cref="IOptions{TOptions}"/> of <see cref="AzureKeyVaultOptions"/>. What <paramref name="configure"/> sets is
    /// validated now, so a bad configuration fails at startup with every problem listed; a host can still supply what
    /// configuration cannot hold (a <see cref="AzureKeyVaultOptions.Credential"/>, <see cref="AzureKeyVaultOptions.ConfigureClient"/>)
    /// afterwards with <c>services.PostConfigure&lt;AzureKeyVaultOptions&gt;(...)</c>, and the final options are validated
    /// again when the backend is built. <paramref name="configure"/> runs once for that check and once for the options.
    /// </summary>
    public static IServiceCollection AddAzureKeyVault(this IServiceCollection services, Action<AzureKeyVaultOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var early = new AzureKeyVaultOptions();
        configure(early);
        early.Validate();

        services.AddOptions<AzureKeyVaultOptions>().Configure(configure);
        services.TryAddSingleton(sp => new AzureKeyVaultBackend(
            sp.GetRequiredService<IOptions<AzureKeyVaultOptions>>().Value,
            sp.GetService<ILogger<AzureKeyVaultBackend>>()));
        services.Replace(ServiceDescriptor.Singleton<ISecretBackend>(sp => sp.GetRequiredService<AzureKeyVaultBackend>()));
        return services;
    }

    /// <summary>
    /// Registers the backend from a configuration section, normally <c>Backend</c> of <c>agentscope.json</c>:
    /// <c>VaultUri</c>, <c>NamePrefix</c>, <c>TenantId</c>, <c>ManagedIdentityClientId</c>, <c>MaxConcurrency</c>,
    /// <c>DeletePollingInterval</c>, <c>SoftDeleteTimeout</c> and <c>Retry:{MaxRetries, Delay, MaxDelay, NetworkTimeout}</c>
    /// (other keys of the section, such as <c>Type</c>, are ignored). The credential is <c>DefaultAzureCredential</c>;
    /// to use another, or another transport, add
    /// <c>services.PostConfigure&lt;AzureKeyVaultOptions&gt;(o =&gt; { o.Credential = ...; o.ConfigureClient = ...; })</c>.
    /// </summary>
    public static IServiceCollection AddAzureKeyVault(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        return services.AddAzureKeyVault(section.Bind);
    }
}
