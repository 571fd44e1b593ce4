using AgentScope.Backends;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>Registration of the Azure Key Vault backend as AgentScope's <see cref="ISecretBackend"/>.</summary>
public static class AzureKeyVaultServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AzureKeyVaultBackend"/> as the <see cref="ISecretBackend"/>. The options are configured and
    /// validated now, so a bad configuration fails at startup with every problem listed.
    /// </summary>
    public static IServiceCollection AddAzureKeyVault(this IServiceCollection services, Action<AzureKeyVaultOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new AzureKeyVaultOptions();
        configure(options);
        options.Validate();
        services.TryAddSingleton(sp => new AzureKeyVaultBackend(options, sp.GetService<ILogger<AzureKeyVaultBackend>>()));
        services.Replace(ServiceDescriptor.Singleton<ISecretBackend>(sp => sp.GetRequiredService<AzureKeyVaultBackend>()));
        return services;
    }

    /// <summary>
    /// Registers the backend from a configuration section, normally <c>Backend</c> of <c>agentscope.json</c>:
    /// <c>VaultUri</c>, <c>NamePrefix</c>, <c>TenantId</c>, <c>ManagedIdentityClientId</c>, <c>MaxConcurrency</c>,
    /// <c>DeletePollingInterval</c>, <c>SoftDeleteTimeout</c> and <c>Retry:{MaxRetries, Delay, MaxDelay, NetworkTimeout}</c>
    /// (other keys of the section, such as <c>Type</c>, are ignored). The credential is <c>DefaultAzureCredential</c>;
    /// to use another, bind the section yourself in the <see cref="Action{T}"/> overload and set
    /// <see cref="AzureKeyVaultOptions.Credential"/>.
    /// </summary>
    public static IServiceCollection AddAzureKeyVault(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        return services.AddAzureKeyVault(section.Bind);
    }
}
