using AgentScope.Server.Admin;
using AgentScope.Server.Health;
using AgentScope.Server.Http;
using AgentScope.Server.Injection;
using AgentScope.Server.Json;
using AgentScope.Server.RateLimiting;
using AgentScope.Server.Vault;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentScope.Server;

/// <summary>
/// Hosting the AgentScope server in an ASP.NET Core application:
/// <code>
/// builder.Services.AddAgentScope(...).AddLocalStore(...).AddJsonLinesAudit(...);   // the core, a backend, an audit sink
/// builder.Services.AddAgentScopeServer(o => o.AgentRequestsPerMinute = 200);
/// var app = builder.Build();
/// app.UseAgentScope();
/// app.MapAgentScope();
/// </code>
/// </summary>
public static class AgentScopeServerExtensions
{
    /// <summary>
    /// Adds the server's services: options (validated at start), ASP.NET Core's rate limiter with the per-agent and
    /// per-admin-key policies, the failed-authentication limiter, the readiness check (the backend, and the audit sink when
    /// it registers <see cref="Audit.IAuditHealth"/>), the OpenAPI document <c>v1</c>, the start-up sweep, and the
    /// injection engine behind <c>POST /v0/request</c> unless one is registered already (<c>AddAgentScopeInjection</c>).
    /// The core (<c>AddAgentScope</c>), a backend and an audit sink must be registered too.
    /// </summary>
    public static IServiceCollection AddAgentScopeServer(this IServiceCollection services, Action<AgentScopeServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AgentScopeServerOptions>()
            .Configure(o => configure?.Invoke(o))
            .Validate(o =>
            {
                o.Validate();
                return true;
            })
            .ValidateOnStart();
        services.AddOptions<AgentScopeOptions>().PostConfigure<IOptions<AgentScopeServerOptions>>((core, server) =>
        {
            if (server.Value.IdentityCacheTtl is { } ttl)
            {
                core.IdentityCacheTtl = ttl;
            }
        });
        services.TryAddSingleton<FailedAuthenticationLimiter>();
        services.TryAddSingleton<ReadinessCheck>();
        services.AddAgentScopeInjection(); // TryAdd: an executor the application registered, with its options, is kept
        services.AddRateLimiter(o =>
        {
            o.AddPolicy<string, AgentRateLimitPolicy>(RateLimitPolicies.Agent);
            o.AddPolicy<string, AdminRateLimitPolicy>(RateLimitPolicies.Admin);
        });
        // The OpenAPI schemas come from the same source-generated contracts the endpoints write.
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Add(ServerJson.Default);
        });
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "AgentScope";
            document.Info.Version = "v0";
            document.Info.Description = "Per-agent scoped secrets. Errors: {\"error\":{\"code\",\"message\"}}; 429 and 503 carry Retry-After.";
            OpenApiExtensions.AddBearerScheme(document);
            return Task.CompletedTask;
        }));
        services.AddHostedService<StartupSweep>();
        return services;
    }

    /// <summary>
    /// Adds the AgentScope middleware: request ids, the body size limit, Bearer key authentication with the failed-
    /// authentication limit, the error handler (<c>{"error":{"code","message"}}</c> for every failure), then ASP.NET Core's
    /// rate limiter. It acts only on AgentScope endpoints and paths under <c>/v0</c>. Call it after <c>UseRouting</c>
    /// when the application calls that itself, and before <see cref="MapAgentScope"/>.
    /// </summary>
    public static IApplicationBuilder UseAgentScope(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<AgentScopeMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>
    /// Maps the agent API (<c>/v0/vault</c>, <c>/v0/request</c>), the admin API (<c>/v0/agents</c>, <c>/v0/sweep</c>, <c>/v0/audit</c>),
    /// <c>/healthz</c>, <c>/readyz</c> and, unless turned off, the OpenAPI document at <c>/openapi/v1.json</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapAgentScope(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<AgentScopeServerOptions>>().Value;
        var group = endpoints.MapGroup("");
        group.MapHealthApi();
        group.MapVaultApi();
        group.MapRequestApi();
        group.MapAdminApi();
        if (options.MapOpenApi)
        {
            endpoints.MapOpenApi().WithMetadata(AgentScopeEndpoint.Anonymous);
        }

        return group;
    }
}
