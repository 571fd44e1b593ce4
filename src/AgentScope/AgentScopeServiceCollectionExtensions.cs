using AgentScope.Agents;
using AgentScope.Audit;
using AgentScope.Crypto;
using AgentScope.Injection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentScope;

/// <summary>Registration of the AgentScope core. A backend (<c>AddLocalStore</c>, ...) and an audit sink must be registered too.</summary>
public static class AgentScopeServiceCollectionExtensions
{
    /// <summary>Adds the core: authenticator, registry, audit, policy. Options are validated when first resolved.</summary>
    public static IServiceCollection AddAgentScope(this IServiceCollection services, Action<AgentScopeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<AgentScopeOptions>().Configure(configure).Validate(o =>
        {
            o.Validate();
            return true;
        });
        services.TryAddSingleton(TimeProvider.System);
        // The real logging infrastructure (TryAdd inside), not a NullLogger<> fallback: a fallback registered here would win
        // over an AddLogging() that comes after AddAgentScope and silently drop every log of the application. With no
        // provider configured, loggers are no-ops anyway.
        services.AddLogging();
        services.TryAddSingleton(sp => MasterKey.Parse(sp.GetRequiredService<IOptions<AgentScopeOptions>>().Value.MasterKey!));
        services.TryAddSingleton<AgentRegistry>();
        services.TryAddSingleton<AuditLog>();
        services.TryAddSingleton<ReadRateLimiter>();
        services.TryAddSingleton<VaultCore>();
        services.TryAddSingleton(sp => new AgentScopeAuthenticator(sp.GetRequiredService<VaultCore>()));
        return services;
    }

    /// <summary>
    /// Adds <see cref="InjectedRequestExecutor"/>, the engine behind MCP <c>vault.request</c> and REST <c>POST /v0/request</c>,
    /// as a singleton with the default handler. Options are validated when it is first resolved.
    /// </summary>
    public static IServiceCollection AddAgentScopeInjection(this IServiceCollection services, Action<InjectionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<InjectionOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        services.TryAddSingleton(sp => new InjectedRequestExecutor(sp.GetRequiredService<IOptions<InjectionOptions>>().Value, handler: null,
            sp.GetService<Microsoft.Extensions.Logging.ILogger<InjectedRequestExecutor>>()));
        return services;
    }

    /// <summary>
    /// Adds the hash-chained JSON-lines audit file as the audit sink, registered as <see cref="IAuditSink"/>,
    /// <see cref="IAuditTrail"/> and <see cref="IAuditHealth"/>.
    /// </summary>
    public static IServiceCollection AddJsonLinesAudit(this IServiceCollection services, Action<JsonLinesAuditOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new JsonLinesAuditOptions { Path = "" };
        configure(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new JsonLinesAuditSink(options, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IAuditSink>(sp => sp.GetRequiredService<JsonLinesAuditSink>());
        services.AddSingleton<IAuditTrail>(sp => sp.GetRequiredService<JsonLinesAuditSink>());
        services.AddSingleton<IAuditHealth>(sp => sp.GetRequiredService<JsonLinesAuditSink>());
        return services;
    }
}
