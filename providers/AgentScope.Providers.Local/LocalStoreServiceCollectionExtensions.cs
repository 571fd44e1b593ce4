using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentScope.Providers.Local;

/// <summary>Registers the local SQLite store as AgentScope's backend.</summary>
public static class LocalStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LocalSecretBackend"/> as the singleton <see cref="ISecretBackend"/>, configured by
    /// <paramref name="configure"/>. The options are validated once, when the backend is first resolved (or at host start):
    /// a missing path fails with an <see cref="OptionsValidationException"/> that says what to set.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets at least <see cref="LocalStoreOptions.Path"/>.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddLocalStore(this IServiceCollection services, Action<LocalStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<LocalStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalStoreOptions>, LocalStoreOptionsValidator>());
        services.TryAddSingleton(sp => new LocalSecretBackend(sp.GetRequiredService<IOptions<LocalStoreOptions>>().Value));
        services.AddSingleton<ISecretBackend>(sp => sp.GetRequiredService<LocalSecretBackend>());
        return services;
    }

    private sealed class LocalStoreOptionsValidator : IValidateOptions<LocalStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, LocalStoreOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
