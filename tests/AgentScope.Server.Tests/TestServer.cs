using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentScope.Audit;
using AgentScope.Backends;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Server.Tests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (a free port) hosting AgentScope over an in-memory backend and a JSON-lines audit
/// file (or the audit sink a test registers), with switches to make the backend or the audit sink fail, and every log
/// line captured.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;
    private readonly FlakyAuditSink? _audit;

    private TestServer(WebApplication app, string dir, HttpClient client, string adminKey, FlakyBackend backend, FlakyAuditSink? audit, CapturingLoggerProvider logs)
    {
        _app = app;
        _dir = dir;
        Client = client;
        AdminKey = adminKey;
        Backend = backend;
        _audit = audit;
        Logs = logs;
    }

    public HttpClient Client { get; }
    public string AdminKey { get; }
    public FlakyBackend Backend { get; }

    /// <summary>The JSON-lines sink with its failure switch (not there when the test registered its own sink).</summary>
    public FlakyAuditSink Audit => _audit ?? throw new InvalidOperationException("this server runs the audit sink the test registered");

    public CapturingLoggerProvider Logs { get; }
    public IServiceProvider Services => _app.Services;

    /// <param name="configure">Server options on top of the test defaults (rate limits raised).</param>
    /// <param name="services">More registrations, made before <c>AddAgentScopeServer</c> (e.g. <c>AddAgentScopeInjection</c>).</param>
    /// <param name="addAudit">Registers the audit sink instead of the default JSON-lines file behind <see cref="FlakyAuditSink"/>.</param>
    public static async Task<TestServer> StartAsync(Action<AgentScopeServerOptions>? configure = null, Action<IServiceCollection>? services = null,
        Action<IServiceCollection>? addAudit = null)
    {
        var dir = Directory.CreateTempSubdirectory("agentscope-server-test-").FullName;
        var logs = new CapturingLoggerProvider();
        var backend = new FlakyBackend();
        FlakyAuditSink? audit = null;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = dir,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        builder.Services.AddSingleton<ISecretBackend>(backend);
        if (addAudit is null)
        {
            var trail = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(dir, "audit.jsonl") });
            audit = new FlakyAuditSink(trail);
            builder.Services.AddSingleton<IAuditSink>(audit);
            builder.Services.AddSingleton<IAuditTrail>(trail);
            builder.Services.AddSingleton<IAuditHealth>(audit);
        }
        else
        {
            addAudit(builder.Services);
        }

        services?.Invoke(builder.Services);

        builder.Services.AddAgentScopeServer(o =>
        {
            o.AgentRequestsPerMinute = 10_000;
            o.FailedAuthenticationsPerMinute = 10_000;
            configure?.Invoke(o);
        });

        var app = builder.Build();
        app.UseAgentScope();
        app.MapAgentScope();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var adminKey = await app.Services.GetRequiredService<AgentScopeAuthenticator>().InitializeAsync() ?? throw new InvalidOperationException("not initialised");
        var client = new HttpClient { BaseAddress = new Uri(address) };
        return new TestServer(app, dir, client, adminKey, backend, audit, logs);
    }

    /// <summary>Creates an agent through the admin API; returns its key.</summary>
    public async Task<string> CreateAgentAsync(string id, object? policy = null)
    {
        using var response = await SendAsync(HttpMethod.Post, "/v0/agents", AdminKey, policy is null ? new { id } : new { id, policy });
        Assert.Equal(201, (int)response.StatusCode);
        return (await ReadJsonAsync(response))["apiKey"]!.GetValue<string>();
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key = null, object? json = null, string? raw = null,
        IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (json is not null)
        {
            request.Content = JsonContent.Create(json);
        }
        else if (raw is not null)
        {
            request.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Client.SendAsync(request);
    }

    public static async Task<JsonNode> ReadJsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("empty body");

    /// <summary>Asserts the status and the error shape; returns the error code.</summary>
    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(2, error.EnumerateObject().Count());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal); // never a stack trace
        return error.GetProperty("code").GetString()!;
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _audit?.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The in-memory backend, which can be told to fail as an unreachable service does, or with an unexpected exception.</summary>
public sealed class FlakyBackend : ISecretBackend
{
    private readonly InMemorySecretBackend _inner = new();

    public bool Unavailable { get; set; }

    /// <summary>When set, reads throw this (an unexpected, non-AgentScope exception).</summary>
    public Exception? Unexpected { get; set; }

    public BackendCapabilities Capabilities => _inner.Capabilities;

    private void Check()
    {
        if (Unavailable)
        {
            throw AgentScopeException.Unavailable("the test backend is unreachable", retryAfter: TimeSpan.FromSeconds(7));
        }
    }

    public ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        Check();
        if (Unexpected is { } e && !key.IsRegistry)
        {
            throw e;
        }

        return _inner.GetAsync(key, cancellationToken);
    }

    public ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        Check();
        return _inner.PutAsync(entry, cancellationToken);
    }

    public ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        Check();
        return _inner.DeleteAsync(key, cancellationToken);
    }

    public IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default)
    {
        Check();
        return _inner.ListAsync(ns, cancellationToken);
    }

    public IAsyncEnumerable<EntryMetadata> ListAllAsync(CancellationToken cancellationToken = default)
    {
        Check();
        return _inner.ListAllAsync(cancellationToken);
    }

    public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        Check();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Wraps the real sink; can be told to refuse every record (and then to fail its health check).</summary>
public sealed class FlakyAuditSink(JsonLinesAuditSink inner) : IAuditSink, IAuditHealth, IDisposable
{
    public bool Failing { get; set; }

    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default) =>
        Failing ? ValueTask.FromException(AgentScopeException.Unavailable("the test audit sink refuses")) : inner.WriteAsync(auditEvent, cancellationToken);

    public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default) =>
        Failing ? ValueTask.FromException(AgentScopeException.Unavailable("audit sink unavailable: the test audit sink refuses")) : inner.CheckHealthAsync(cancellationToken);

    public void Dispose() => inner.Dispose();
}

/// <summary>Keeps every log line: message, exception text and structured values.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public string All => string.Join("\n", _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"{category} scope: {Describe(state)}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {Describe(state)} | {exception}");

        private static string Describe<TState>(TState state) => state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}"))
            : state?.ToString() ?? "";
    }
}
