using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentScope.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentScope.Injection;

/// <summary>
/// Performs an <see cref="InjectedRequest"/> for an agent: the agent names its secrets by placeholder, AgentScope fills
/// them in, sends the request, and hands back the response with every injected value scrubbed. The caller (an LLM over
/// MCP, any program over REST) uses a credential without ever holding it.
/// </summary>
/// <remarks>
/// <para>Order of work, so that nothing leaves before every check passed: the URL is parsed from the template and its
/// origin fixed before any value is read (placeholders in the scheme, host, port or user info are refused); each label
/// is then released by <see cref="AgentVault"/> only for that host (policy <c>use</c> plus <c>allowedHosts</c>, https
/// unless the rule sets <c>allowHttpLoopback</c> and the host is loopback), audited fail-closed; a request with no
/// placeholder at all is refused, so every destination is one the policy names.</para>
/// <para>Redirects are followed only within the same scheme, host and port (up to <see cref="InjectionOptions.MaxRedirects"/>);
/// a redirect elsewhere is refused, never followed. The response body is read up to
/// <see cref="InjectionOptions.MaxResponseBytes"/>, everything within <see cref="InjectionOptions.Timeout"/>. How the
/// request ended (method, URL template, status) is audited per label, never a value.</para>
/// <para>One instance serves every agent: it keeps no cookies and no credentials between requests. It is thread-safe.</para>
/// </remarks>
public sealed class InjectedRequestExecutor : IDisposable
{
    private readonly HttpClient _http;
    private readonly InjectionOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates an executor.</summary>
    /// <param name="options">Limits; defaults when null. Validated here.</param>
    /// <param name="handler">
    /// The HTTP handler; null for <see cref="CreateHandler"/>. A replacement must not follow redirects or keep cookies:
    /// start from <see cref="CreateHandler"/> and change what you need (tests trust a self-signed certificate this way).
    /// </param>
    /// <param name="logger">Where to log method, host, status and timing (never paths, headers or bodies).</param>
    public InjectedRequestExecutor(InjectionOptions? options = null, HttpMessageHandler? handler = null, ILogger<InjectedRequestExecutor>? logger = null)
    {
        _options = options ?? new InjectionOptions();
        _options.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _http = new HttpClient(handler ?? CreateHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// The default handler: no automatic redirects, no cookies, no default credentials, gzip/deflate/brotli decoding (a
    /// compressed body could not be scrubbed), pooled connections renewed every few minutes, and plain-http connections
    /// allowed only to a loopback address (whatever the host name resolved to, and whatever a proxy setting says).
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        Credentials = null,
        PreAuthenticate = false,
        AutomaticDecompression = DecompressionMethods.All,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(15),
        ConnectCallback = ConnectAsync,
    };

    /// <summary>
    /// Sends <paramref name="request"/> as the agent of <paramref name="vault"/> and returns the scrubbed response.
    /// Upstream error statuses (4xx, 5xx) are responses, not exceptions.
    /// </summary>
    /// <exception cref="AgentScopeException">
    /// Invalid input (malformed URL or placeholder, refused header, no placeholder); access denied (policy does not allow
    /// a label for the host, redirect to another origin); not found (no such label); upstream failed (connection, TLS,
    /// timeout, undecodable body). Messages never hold a value.
    /// </exception>
    public async Task<InjectedResponse> SendAsync(AgentVault vault, InjectedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(request);
        var template = RequestTemplate.Parse(request, _options);

        // Every label is released for this origin only, each release audited before the value leaves the vault.
        var values = new Dictionary<(PlaceholderKind, string), string>();
        foreach (var key in template.AllPlaceholders.Select(p => (p.Kind, p.Label)).Distinct())
        {
            var value = key.Kind == PlaceholderKind.Totp
                ? await vault.UseTotpAsync(key.Label, template.Host, template.IsHttps, template.IsLoopback, cancellationToken).ConfigureAwait(false)
                : await vault.UseAsync(key.Label, template.Host, template.IsHttps, template.IsLoopback, cancellationToken).ConfigureAwait(false);
            values[key] = value.Reveal();
        }

        var scrubber = new SecretScrubber(values.Select(kv => KeyValuePair.Create(kv.Key.Item2, kv.Value)));
        var labels = values.Keys.Select(k => k.Item2).Distinct().ToList();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var outbound = template.Substitute(p => values[(p.Kind, p.Label)]);
            var response = await ExchangeAsync(outbound, template, scrubber, cancellationToken).ConfigureAwait(false);
            _logger.LogDebug("injected {Method} to {Host} -> {Status} in {Elapsed} ms", template.Method, template.Host, response.Status,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            await AuditAsync(vault, labels, template, AuditOutcomes.Ok, $"-> {response.Status}", null).ConfigureAwait(false);
            return response;
        }
        catch (AgentScopeException e)
        {
            var outcome = e.Kind == ErrorKind.AccessDenied ? AuditOutcomes.Denied : AuditOutcomes.Error;
            await AuditAsync(vault, labels, template, outcome, $"-> {e.Code}", e.Message).ConfigureAwait(false);
            throw;
        }
        catch (OperationCanceledException)
        {
            await AuditAsync(vault, labels, template, AuditOutcomes.Error, "-> cancelled", "cancelled by the caller").ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Disposes the HTTP client and its handler.</summary>
    public void Dispose() => _http.Dispose();

    private async Task<InjectedResponse> ExchangeAsync(OutboundRequest outbound, RequestTemplate template, SecretScrubber scrubber, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var ct = timeout.Token;
        var uri = outbound.Uri;
        var method = new HttpMethod(template.Method);
        var withBody = outbound.Body is not null;
        try
        {
            for (var redirects = 0; ; redirects++)
            {
                using var message = outbound.ToMessage(method, uri, withBody, _options.UserAgent);
                using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
                {
                    var next = new Uri(uri, location);
                    if (!SameOrigin(next, uri))
                    {
                        throw AgentScopeException.Denied(scrubber.Scrub(
                            $"{template.Host} answered {status} with a redirect to {next.Scheme}://{next.IdnHost}:{next.Port}, another origin; " +
                            "AgentScope follows redirects only within the same scheme, host and port, so the request was not repeated there"));
                    }

                    if (redirects < _options.MaxRedirects)
                    {
                        // As browsers do: 303, and 301/302 after a POST, continue as a GET without the body.
                        if (status == 303 && method != HttpMethod.Head || status is 301 or 302 && method == HttpMethod.Post)
                        {
                            method = HttpMethod.Get;
                            withBody = false;
                        }

                        uri = new UriBuilder(next) { Fragment = "" }.Uri;
                        continue;
                    }
                }

                return await ReadAsync(response, scrubber, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentScopeException(ErrorKind.UpstreamFailed, $"the request to {template.Host} timed out after {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            var why = e.InnerException is PlainHttpToNonLoopbackException
                ? "plain http may only go to a loopback address, and the connection would have gone elsewhere"
                : Describe(e.HttpRequestError);
            throw new AgentScopeException(ErrorKind.UpstreamFailed, $"the request to {template.Host} failed: {why}");
        }
    }

    private async Task<InjectedResponse> ReadAsync(HttpResponseMessage response, SecretScrubber scrubber, CancellationToken ct)
    {
        var encodings = response.Content.Headers.ContentEncoding.Where(e => !e.Equals("identity", StringComparison.OrdinalIgnoreCase)).ToList();
        if (encodings.Count > 0)
        {
            throw new AgentScopeException(ErrorKind.UpstreamFailed,
                $"the response is encoded with {string.Join(", ", encodings.Select(e => Names.Describe(scrubber.Scrub(e))))}, which AgentScope cannot decode to scrub, so it was withheld");
        }

        var max = _options.MaxResponseBytes;
        var body = new MemoryStream();
        var truncated = false;
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            int n;
            while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                var take = (int)Math.Min(n, max - body.Length);
                body.Write(chunk, 0, take);
                if (take < n)
                {
                    truncated = true;
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[scrubber.Scrub(name)] = scrubber.Scrub(string.Join(", ", values));
        }

        return new InjectedResponse
        {
            Status = (int)response.StatusCode,
            Headers = headers,
            Body = scrubber.Scrub(Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length), truncated),
            Truncated = truncated,
        };
    }

    private static async Task AuditAsync(AgentVault vault, List<string> labels, RequestTemplate template, string outcome, string result, string? reason)
    {
        foreach (var label in labels)
        {
            await vault.AuditRequestAsync(label, outcome, $"{template.Method} {template.Describe()} {result}", reason).ConfigureAwait(false);
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static string Describe(HttpRequestError error) => error switch
    {
        HttpRequestError.NameResolutionError => "the host name could not be resolved",
        HttpRequestError.ConnectionError => "could not connect",
        HttpRequestError.SecureConnectionError => "the TLS handshake failed (certificate not trusted, or no common protocol)",
        HttpRequestError.HttpProtocolError or HttpRequestError.InvalidResponse => "the server's answer was not valid HTTP",
        HttpRequestError.ResponseEnded => "the server closed the connection early",
        HttpRequestError.ConfigurationLimitExceeded => "the response headers are too large",
        _ => "a network error",
    };

    // Plain http is allowed by policy only towards loopback. Check the addresses the name resolves to (whatever the name
    // says, and wherever a proxy setting points), then connect to exactly those, so the answer cannot change in between.
    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var endpoint = context.DnsEndPoint;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (context.InitialRequestMessage.RequestUri?.Scheme == Uri.UriSchemeHttp)
            {
                var addresses = IPAddress.TryParse(endpoint.Host, out var literal)
                    ? [literal]
                    : await Dns.GetHostAddressesAsync(endpoint.Host, ct).ConfigureAwait(false);
                if (addresses.Length == 0 || !addresses.All(a => IPAddress.IsLoopback(a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a)))
                {
                    throw new PlainHttpToNonLoopbackException();
                }

                await socket.ConnectAsync(addresses, endpoint.Port, ct).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(endpoint, ct).ConfigureAwait(false);
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class PlainHttpToNonLoopbackException : IOException;
}
