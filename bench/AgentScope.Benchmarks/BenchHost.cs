using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>Builds the core over a given backend and audit sink, the same way applications do (AddAgentScope).</summary>
public static class BenchHost
{
    public static ServiceProvider Build(ISecretBackend backend, IAuditSink sink) =>
        new ServiceCollection()
            .AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))
            .AddSingleton(backend)
            .AddSingleton(sink)
            .BuildServiceProvider();

    public static async Task<AgentVault> NewAgentAsync(ServiceProvider services, string id)
    {
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        var created = await auth.LocalAdmin().CreateAgentAsync(id);
        return await auth.AuthenticateAgentAsync(created.ApiKey);
    }
}
