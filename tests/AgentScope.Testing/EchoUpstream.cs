using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Testing;

/// <summary>What the upstream received, as it received it (the path still percent-encoded).</summary>
public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>Everything in one string: method, path, query, headers, body.</summary>
    public string Everything => $"{Method} {Path}{Query}\n{string.Join("\n", Headers.Select(h => $"{h.Key}: {h.Value}"))}\n\n{Body}";
}

/// <summary>
/// A real HTTP server on 127.0.0.1 (Kestrel) standing for a third-party API in injection tests. It records every request
/// and, on most paths, echoes it back in as many forms as it can: raw, JSON, base64, base64url, percent- and form-encoded,
/// hex, in the body and in response headers. Special paths: <c>/redirect?to=URL</c> (302), <c>/big?n=BYTES</c>,
/// <c>/slow?ms=</c>, <c>/gzip</c> (the echo gzip-compressed), <c>/zstd</c> (an encoding no client decodes),
/// <c>/status?code=</c>.
/// </summary>
public sealed class EchoUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoUpstream(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary><c>http://127.0.0.1:PORT</c> (or https with a certificate).</summary>
    public Uri BaseUri { get; }

    /// <summary>The port it listens on.</summary>
    public int Port => BaseUri.Port;

    /// <summary>Every request received, in order.</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>Starts a server on a free loopback port; over https when a certificate (with private key) is given.</summary>
    public static async Task<EchoUpstream> StartAsync(X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        EchoUpstream? self = null;
        app.Run(async context => await self!.HandleAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new EchoUpstream(app, new Uri(address));
        return self;
    }

    /// <summary>A URL on this server, the path and query taken as they are (placeholders stay unescaped).</summary>
    public string Url(string pathAndQuery) => BaseUri.GetLeftPart(UriPartial.Authority) + pathAndQuery;

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        var rawPath = rawTarget.Split('?')[0];
        var received = new ReceivedRequest(request.Method, rawPath, request.QueryString.Value ?? "", headers, body);
        Received.Enqueue(received);
        var response = context.Response;
        switch (request.Path.Value)
        {
            case "/redirect":
                response.StatusCode = 302;
                response.Headers.Location = request.Query["to"].ToString();
                return;
            case "/big":
                response.ContentType = "text/plain";
                var n = int.Parse(request.Query["n"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
                var block = Encoding.ASCII.GetBytes(new string('x', 8191) + "\n");
                for (var sent = 0; sent < n; sent += block.Length)
                {
                    await response.Body.WriteAsync(block.AsMemory(0, Math.Min(block.Length, n - sent)));
                }

                return;
            case "/slow":
                await Task.Delay(int.Parse(request.Query["ms"].ToString(), System.Globalization.CultureInfo.InvariantCulture), context.RequestAborted);
                await response.WriteAsync("late");
                return;
            case "/status":
                response.StatusCode = int.Parse(request.Query["code"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
                await response.WriteAsync(received.Everything);
                return;
            case "/zstd":
                response.Headers.ContentEncoding = "zstd";
                await response.Body.WriteAsync(Encoding.UTF8.GetBytes(received.Everything));
                return;
        }

        var echo = Echo(received);
        var auth = headers.GetValueOrDefault("Authorization") ?? "";
        response.Headers["X-Echo-Authorization"] = auth;
        response.Headers["X-Echo-Base64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(auth));
        response.Headers["X-Echo-Url"] = Uri.EscapeDataString(auth);
        response.Headers.SetCookie = "session=" + Uri.EscapeDataString(auth);
        response.ContentType = "application/json";
        if (request.Path.Value == "/gzip")
        {
            response.Headers.ContentEncoding = "gzip";
            await using var gzip = new GZipStream(response.Body, CompressionLevel.Fastest, leaveOpen: true);
            await gzip.WriteAsync(echo);
            return;
        }

        await response.Body.WriteAsync(echo);
    }

    private static byte[] Echo(ReceivedRequest r)
    {
        var all = r.Everything;
        var bytes = Encoding.UTF8.GetBytes(all);
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["method"] = r.Method,
            ["path"] = r.Path,
            ["query"] = r.Query,
            ["headers"] = r.Headers,
            ["body"] = r.Body,
            ["raw"] = all,
            ["base64"] = Convert.ToBase64String(bytes),
            ["base64url"] = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            ["percent"] = Uri.EscapeDataString(all),
            ["form"] = WebUtility.UrlEncode(all),
            ["formLowerHex"] = System.Text.RegularExpressions.Regex.Replace(WebUtility.UrlEncode(all), "%[0-9A-F]{2}", m => m.Value.ToLowerInvariant()),
            ["hex"] = Convert.ToHexString(bytes),
            ["pathDecoded"] = Uri.UnescapeDataString(r.Path),
            ["queryDecoded"] = Uri.UnescapeDataString(r.Query.Replace('+', ' ')),
        });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
