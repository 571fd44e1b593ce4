using Microsoft.AspNetCore.Http;

namespace AgentScope.Server.Http;

/// <summary>Who may call an AgentScope endpoint.</summary>
internal enum CallerKind
{
    /// <summary>Anyone (health, OpenAPI).</summary>
    Anonymous,
    /// <summary>An agent key: the request acts on that agent's vault.</summary>
    Agent,
    /// <summary>An admin key.</summary>
    Admin,
}

/// <summary>Endpoint metadata marking an AgentScope endpoint and the key it needs; read by <see cref="AgentScopeMiddleware"/>.</summary>
internal sealed class AgentScopeEndpoint
{
    private AgentScopeEndpoint(CallerKind caller) => Caller = caller;

    public static AgentScopeEndpoint Anonymous { get; } = new(CallerKind.Anonymous);
    public static AgentScopeEndpoint Agent { get; } = new(CallerKind.Agent);
    public static AgentScopeEndpoint Admin { get; } = new(CallerKind.Admin);

    public CallerKind Caller { get; }
}

/// <summary>The authenticated caller of the current request, as <see cref="AgentScopeMiddleware"/> left it.</summary>
internal static class CallerHttpContextExtensions
{
    private const string Missing = "no authenticated AgentScope caller on this request: call app.UseAgentScope() before app.MapAgentScope()";

    /// <summary>The vault of the agent whose key authenticated this request.</summary>
    public static AgentVault Vault(this HttpContext context) =>
        context.Features.Get<AgentVault>() ?? throw new InvalidOperationException(Missing);

    /// <summary>The administrator whose key authenticated this request.</summary>
    public static AgentAdmin Admin(this HttpContext context) =>
        context.Features.Get<AgentAdmin>() ?? throw new InvalidOperationException(Missing);
}
