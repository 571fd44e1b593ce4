using AgentScope.Backends;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>Registers AWS Secrets Manager as AgentScope's backend.</summary>
public static class AwsSecretsManagerServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> the backend asks <see cref="IHttpClientFactory"/> for (configure a proxy on it).</summary>
    public const string HttpClientName = "AgentScope.AwsSecretsManager";

    /// <summary>The <c>Backend:Kind</c> values that select this backend (case-insensitive).</summary>
    public static readonly IReadOnlyList<string> Kinds = ["AwsSecretsManager", "aws"];

    /// <summary>
    /// Registers <see cref="AwsSecretsManagerBackend"/> as the singleton <see cref="ISecretBackend"/>, configured by
    /// <paramref name="configure"/>. The options are validated once, when the backend is first resolved (or at host start),
    /// with every problem reported together.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; the defaults need only a region from somewhere (options, environment, profile).</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddAwsSecretsManager(this IServiceCollection services, Action<AwsSecretsManagerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<AwsSecretsManagerOptions>().Configure(configure).ValidateOnStart();
        return AddCore(services);
    }

    /// <summary>
    /// Registers the backend from the <c>"Backend"</c> section of <c>agentscope.json</c>:
    /// <c>{"Kind": "AwsSecretsManager", "Region": "eu-west-1", "Prefix": "agentscope", "ServiceUrl": null, "KmsKeyId": null,
    /// "RecoveryWindowDays": null, "Profile": null, "MaxRetries": 8, "MaxConcurrency": 8}</c>. <c>Kind</c> may be omitted;
    /// when present it must be <c>AwsSecretsManager</c> (or <c>aws</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="backendSection">The <c>Backend</c> configuration section.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddAwsSecretsManager(this IServiceCollection services, IConfiguration backendSection)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(backendSection);
        var kind = backendSection["Kind"];
        services.AddOptions<AwsSecretsManagerOptions>()
            .Configure(o => backendSection.Bind(o))
            .Validate(_ => kind is null || Kinds.Contains(kind, StringComparer.OrdinalIgnoreCase),
                $"Backend:Kind is {Display.Quote(kind)}, not AwsSecretsManager")
            .ValidateOnStart();
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AwsSecretsManagerOptions>, OptionsValidator>());
        // No IHttpClientFactory request logging on this client: its scope and logging handlers cost about 0.6 µs on every
        // call (bench --provider-overhead), and at Trace they list the request headers, Authorization and the session
        // token included, kept out of the log only by the factory's default redaction. Failures reach the caller through
        // the backend's own exceptions, which name the operation, the secret and the AWS error. A host that wants the HTTP
        // logs anyway can add them back with AddHttpClient(HttpClientName).AddDefaultLogger().
        services.AddHttpClient(HttpClientName).RemoveAllLoggers();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new AwsSecretsManagerBackend(
            sp.GetRequiredService<IOptions<AwsSecretsManagerOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ISecretBackend>(sp => sp.GetRequiredService<AwsSecretsManagerBackend>());
        return services;
    }

    private sealed class OptionsValidator : IValidateOptions<AwsSecretsManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, AwsSecretsManagerOptions options) =>
            options.Problems() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}
