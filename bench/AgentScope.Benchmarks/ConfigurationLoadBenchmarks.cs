using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using AgentScope.Providers.Local;
using AgentScope.Server;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Benchmarks;

/// <summary>
/// Startup load of 200 labels by the configuration provider against a loopback server on the Local store (one batch round
/// trip), and a reload poll with nothing changed (one version listing).
/// </summary>
[MemoryDiagnoser]
public class ConfigurationLoadBenchmarks
{
    private const int Labels = 200;
    private string _dir = null!;
    private WebApplication _app = null!;
    private Uri _endpoint = null!;
    private string _key = null!;
    private List<string> _labels = null!;
    private HttpClient _http = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _dir = Directory.CreateTempSubdirectory("agentscope-bench-config-").FullName;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            _endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)l.LocalEndpoint).Port}/");
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"], ContentRootPath = _dir });
        builder.WebHost.UseUrls(_endpoint.ToString());
        builder.Logging.ClearProviders();
        builder.Services.AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        builder.Services.AddLocalStore(o => o.Path = Path.Combine(_dir, "store.db"));
        builder.Services.AddJsonLinesAudit(o => o.Path = Path.Combine(_dir, "audit.jsonl"));
        builder.Services.AddAgentScopeServer(o => o.AgentRequestsPerMinute = 0);
        _app = builder.Build();
        _app.UseAgentScope();
        _app.MapAgentScope();
        await _app.StartAsync();

        var auth = _app.Services.GetRequiredService<AgentScopeAuthenticator>();
        _key = (await auth.LocalAdmin().CreateAgentAsync("bench")).ApiKey;
        var vault = await auth.AuthenticateAgentAsync(_key);
        _labels = Enumerable.Range(0, Labels).Select(i => $"Service{i}--ApiKey").ToList();
        foreach (var label in _labels)
        {
            await vault.StoreAsync(label, new SecretValue("sk_live_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16))));
        }

        _http = new HttpClient();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public string? StartupLoad200Labels()
    {
        var config = new ConfigurationBuilder().AddAgentScope(s =>
        {
            s.Endpoint = _endpoint;
            s.ApiKey = _key;
            s.Labels = _labels;
        }).Build();
        var value = config["Service199:ApiKey"];
        (config as IDisposable)?.Dispose();
        return value;
    }

    [Benchmark]
    public async Task<long?> UnchangedReloadPoll()
    {
        // What a reload with nothing changed costs: the version listing (no values).
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_endpoint, "v0/vault"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _key);
        using var response = await _http.SendAsync(request);
        return (await response.Content.ReadAsByteArrayAsync()).LongLength;
    }
}
