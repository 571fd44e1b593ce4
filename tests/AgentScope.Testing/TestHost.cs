using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Testing;

/// <summary>
/// The core as an application would build it (<c>AddAgentScope</c> on a service collection), over a chosen backend,
/// a collecting audit sink, a manual clock and a capturing logger.
/// </summary>
public sealed class TestHost : IDisposable, IAsyncDisposable
{
    private readonly ServiceProvider _services;

    /// <summary>Builds the container and resolves the authenticator.</summary>
    /// <param name="backend">The backend (default: a new <see cref="InMemorySecretBackend"/>).</param>
    /// <param name="sink">The audit sink (default: a new <see cref="CollectingAuditSink"/>).</param>
    /// <param name="time">The clock (default: a new <see cref="ManualTimeProvider"/> at its default start).</param>
    /// <param name="configure">Applied after the defaults (a fresh random master key); may change any option.</param>
    public TestHost(ISecretBackend? backend = null, CollectingAuditSink? sink = null, ManualTimeProvider? time = null,
        Action<AgentScopeOptions>? configure = null)
    {
        Backend = backend ?? new InMemorySecretBackend();
        Sink = sink ?? new CollectingAuditSink();
        Time = time ?? new ManualTimeProvider();
        MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Logs = new CapturingLoggerProvider();

        var services = new ServiceCollection();
        services.AddSingleton(Backend);
        services.AddSingleton<IAuditSink>(Sink);
        services.AddSingleton<TimeProvider>(Time);
        services.AddAgentScope(o =>
        {
            o.MasterKey = MasterKey;
            configure?.Invoke(o);
        });
        // After AddAgentScope on purpose: an application may add logging in either order.
        services.AddLogging(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Authenticator = _services.GetRequiredService<AgentScopeAuthenticator>();
    }

    /// <summary>The container.</summary>
    public IServiceProvider Services => _services;

    /// <summary>The backend every call reaches.</summary>
    public ISecretBackend Backend { get; }

    /// <summary>The audit sink.</summary>
    public CollectingAuditSink Sink { get; }

    /// <summary>The clock.</summary>
    public ManualTimeProvider Time { get; }

    /// <summary>Everything the core logged.</summary>
    public CapturingLoggerProvider Logs { get; }

    /// <summary>The master key (base64), as configured before <c>configure</c> ran.</summary>
    public string MasterKey { get; }

    /// <summary>The authenticator, resolved from the container.</summary>
    public AgentScopeAuthenticator Authenticator { get; }

    /// <summary>A local administrator (<c>admin:local</c>).</summary>
    public AgentAdmin Admin => Authenticator.LocalAdmin();

    /// <summary>A local administrator acting with <paramref name="context"/>.</summary>
    public AgentAdmin LocalAdmin(AccessContext? context = null) => Authenticator.LocalAdmin(context);

    /// <summary>Creates an agent (full control unless <paramref name="policy"/> says otherwise) and authenticates its key.</summary>
    public async Task<(AgentVault Vault, string ApiKey)> AddAgentAsync(string id, AgentPolicy? policy = null, AccessContext? context = null)
    {
        var created = await Admin.CreateAgentAsync(id, policy: policy);
        return (await Authenticator.AuthenticateAgentAsync(created.ApiKey, context), created.ApiKey);
    }

    /// <summary>Every entry the backend holds, registry included (metadata only).</summary>
    public async Task<IReadOnlyList<EntryMetadata>> ListAllAsync()
    {
        var all = new List<EntryMetadata>();
        await foreach (var m in Backend.ListAllAsync())
        {
            all.Add(m);
        }

        return all;
    }

    /// <inheritdoc />
    public void Dispose() => _services.Dispose();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
