using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using AgentScope.Providers.Local;
using AgentScope.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Client.Tests;

/// <summary>
/// A real AgentScope server (Kestrel on 127.0.0.1, the Local store and the audit file in a temp home), composed as
/// <c>agentscope serve</c> composes it. It can be stopped and started again on the same port, to play an outage.
/// </summary>
public sealed class VaultServer : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private WebApplication? _app;

    private VaultServer(string dir, int port)
    {
        _dir = dir;
        Port = port;
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
    }

    public int Port { get; }
    public Uri Endpoint { get; }
    public AgentAdmin Admin => Services.GetRequiredService<AgentScopeAuthenticator>().LocalAdmin();
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the server is stopped");

    public static async Task<VaultServer> StartAsync()
    {
        var server = new VaultServer(Directory.CreateTempSubdirectory("agentscope-client-test-").FullName, FreePort());
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"], ContentRootPath = _dir });
        builder.WebHost.UseUrls(Endpoint.ToString());
        builder.Logging.ClearProviders();
        builder.Services.AddAgentScope(o =>
        {
            o.MasterKey = _masterKey;
            o.IdentityCacheTtl = TimeSpan.Zero;
        });
        builder.Services.AddLocalStore(o => o.Path = Path.Combine(_dir, "store.db"));
        builder.Services.AddJsonLinesAudit(o => o.Path = Path.Combine(_dir, "audit", "audit.jsonl"));
        builder.Services.AddAgentScopeServer(o =>
        {
            o.AgentRequestsPerMinute = 100_000;
            o.FailedAuthenticationsPerMinute = 100_000;
        });
        var app = builder.Build();
        app.UseAgentScope();
        app.MapAgentScope();
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Creates an agent; returns its key and its vault (as the agent).</summary>
    public async Task<(string Key, AgentVault Vault)> AddAgentAsync(string id, AgentPolicy? policy = null)
    {
        var created = await Admin.CreateAgentAsync(id, policy: policy);
        var vault = await Services.GetRequiredService<AgentScopeAuthenticator>().AuthenticateAgentAsync(created.ApiKey);
        return (created.ApiKey, vault);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
