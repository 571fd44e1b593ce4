using System.Net;
using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Injection;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Benchmarks;

/// <summary>
/// What <c>vault.request</c> (REST <c>POST /v0/request</c>) adds over calling the same loopback server directly with an
/// HttpClient: placeholder parsing, policy and host check, value release (null audit sink), scrubber, response scrub.
/// Issue target: at most 2 ms median overhead. Run: <c>dotnet run -c Release --project bench/AgentScope.Benchmarks -- --filter '*Injection*'</c>.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class InjectionBenchmarks
{
    private const string Secret = "sk_live_0123456789abcdef0123456789";
    private const string Body = """{"id":"ch_3N8","object":"charge","amount":2000,"currency":"usd","status":"succeeded","description":"benchmark"}""";

    private WebApplication _upstream = null!;
    private ServiceProvider _services = null!;
    private AgentVault _vault = null!;
    private InjectedRequestExecutor _executor = null!;
    private HttpClient _direct = null!;
    private string _url = "";
    private InjectedRequest _request = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _upstream = builder.Build();
        _upstream.Run(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(Body);
        });
        await _upstream.StartAsync();
        _url = _upstream.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1/charges";

        _services = BenchHost.Build(new InMemorySecretBackend(), NullAuditSink.Instance);
        var auth = _services.GetRequiredService<AgentScopeAuthenticator>();
        var policy = new AgentPolicy { Rules = [new PolicyRule { Labels = "*", Operations = ["*"], AllowedHosts = ["127.0.0.1"], AllowHttpLoopback = true }] };
        var created = await auth.LocalAdmin().CreateAgentAsync("bench", policy: policy);
        _vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        await _vault.StoreAsync("stripe-key", new SecretValue(Secret));
        _executor = new InjectedRequestExecutor();
        _direct = new HttpClient();
        _request = new InjectedRequest { Url = _url, Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:stripe-key}}" } };
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _direct.Dispose();
        _executor.Dispose();
        await _services.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<string> DirectHttpClient()
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, _url);
        message.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Secret);
        using var response = await _direct.SendAsync(message);
        return await response.Content.ReadAsStringAsync();
    }

    [Benchmark]
    public async Task<string> InjectedRequest() => (await _executor.SendAsync(_vault, _request)).Body;

    /// <summary>The scrubber alone over a 1 MiB JSON-like body (the default response limit) holding the value twice.</summary>
    [Benchmark]
    public string ScrubOneMebibyte() => new SecretScrubber([KeyValuePair.Create("stripe-key", Secret)]).Scrub(_mebibyte);

    private readonly string _mebibyte = string.Concat(Enumerable.Repeat(Body, (1 << 20) / Body.Length))
        .Insert(1000, Secret).Insert(500_000, Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Secret)));
}
