using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Audit.PostgreSql;

/// <summary>Registers the PostgreSQL audit sink.</summary>
public static class PostgreSqlAuditServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgreSqlAuditSink"/> as the singleton <see cref="IAuditSink"/>, <see cref="IAuditTrail"/>
    /// (queries, verification) and <see cref="IAuditHealth"/> (readiness). The options are validated here, so a missing
    /// connection string fails at registration; the database is first contacted on first use.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets at least <see cref="PostgreSqlAuditOptions.ConnectionString"/>.</param>
    /// <returns>The same service collection.</returns>
    /// <exception cref="AgentScopeException">The options are not valid (kind <see cref="ErrorKind.InvalidInput"/>).</exception>
    public static IServiceCollection AddPostgreSqlAudit(this IServiceCollection services, Action<PostgreSqlAuditOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PostgreSqlAuditOptions();
        configure(options);
        options.Validate();
        services.AddSingleton(sp => new PostgreSqlAuditSink(options, sp.GetService<ILogger<PostgreSqlAuditSink>>()));
        services.AddSingleton<IAuditSink>(sp => sp.GetRequiredService<PostgreSqlAuditSink>());
        services.AddSingleton<IAuditTrail>(sp => sp.GetRequiredService<PostgreSqlAuditSink>());
        services.AddSingleton<IAuditHealth>(sp => sp.GetRequiredService<PostgreSqlAuditSink>());
        return services;
    }
}
