using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentScope.Injection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AgentScope.Client;

/// <summary>
/// A typed client for an agent's own vault over the <c>/v0/vault</c> REST API. Errors come back as the core's typed
/// <see cref="AgentScopeException"/> (not found, denied, revoked, rate limited with retry-after, unavailable); transient
/// failures are retried with backoff. The API key is sent only in the Authorization header and never logged.
/// </summary>
public sealed class AgentScopeClient
{
    internal const string JustificationHeader = "X-AgentScope-Justification";
    private const string RequestIdHeader = "X-Request-Id";
    private const string RevealToHeader = "X-AgentScope-Reveal-To";

    private readonly HttpClient _http;
    private readonly AgentScopeClientOptions _options;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ResiliencePipeline<HttpResponseMessage> _requestPipeline;
    private readonly Uri _base;
    private readonly AccessContext _context = AccessContext.None;

    /// <summary>Creates a client over an <see cref="HttpClient"/> (from <c>IHttpClientFactory</c> when registered with <c>AddAgentScopeClient</c>).</summary>
    public AgentScopeClient(HttpClient httpClient, IOptions<AgentScopeClientOptions> options, ILogger<AgentScopeClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        _http = httpClient;
        _options = options.Value;
        _options.ApplyDefaultsAndValidate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var endpoint = _options.Endpoint!.ToString();
        _base = new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/");
        _pipeline = BuildPipeline(_options, _logger);
        _requestPipeline = BuildRequestPipeline(_options, _logger);
    }

    private AgentScopeClient(AgentScopeClient other, AccessContext context)
    {
        _http = other._http;
        _options = other._options;
        _logger = other._logger;
        _base = other._base;
        _pipeline = other._pipeline;
        _requestPipeline = other._requestPipeline;
        _context = context;
    }

    /// <summary>
    /// The same client (same connection pool and settings), sending <paramref name="context"/> with every call: its
    /// <see cref="AccessContext.Justification"/> as <c>X-AgentScope-Justification</c> (recorded in the audit trail; some
    /// policies require it) and its <see cref="AccessContext.RequestId"/> as <c>X-Request-Id</c> when the server can keep
    /// it (at most 64 letters, digits, '-', '_', '.' or ':'), so the audit trail lines up with the caller's own logs.
    /// </summary>
    /// <remarks>
    /// A justification beyond ASCII is sent as UTF-8, which the handler <c>AddAgentScopeClient</c> sets up allows; an
    /// <see cref="HttpClient"/> of your own needs <see cref="SocketsHttpHandler.RequestHeaderEncodingSelector"/> for that.
    /// </remarks>
    /// <exception cref="AgentScopeException">The justification holds a control character such as a line break.</exception>
    public AgentScopeClient WithContext(AccessContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Justification is { } justification && justification.Any(char.IsControl))
        {
            throw AgentScopeException.InvalidInput($"the justification may not hold control characters such as line breaks: it travels in the {JustificationHeader} header");
        }

        return new AgentScopeClient(this, context);
    }

    /// <summary>Reads a value.</summary>
    public async Task<VaultSecret> GetAsync(string label, CancellationToken cancellationToken = default) =>
        ToSecret((await SendAsync(HttpMethod.Get, "v0/vault/" + Escape(label), null, ClientJson.Default.SecretResponse, cancellationToken).ConfigureAwait(false))!);

    /// <summary>
    /// Reads a value that the caller will show to an LLM (an MCP bridge, say): sends <c>X-AgentScope-Reveal-To: model</c>,
    /// so the server answers only where an allowing rule sets <c>reveal</c>, and otherwise refuses with an access-denied
    /// error that points to <see cref="RequestAsync"/>. This is advisory, for well-behaved callers: the key holder may
    /// always read with <see cref="GetAsync"/>; the flag keeps a value away from the model, not from this process.
    /// </summary>
    public async Task<VaultSecret> RevealToModelAsync(string label, CancellationToken cancellationToken = default) =>
        ToSecret((await SendAsync(HttpMethod.Get, "v0/vault/" + Escape(label), null, ClientJson.Default.SecretResponse, cancellationToken,
            header: (RevealToHeader, "model")).ConfigureAwait(false))!);

    /// <summary>
    /// <c>POST /v0/request</c>: the server fills in the <c>{{secret:LABEL}}</c> and <c>{{totp:LABEL}}</c> placeholders of
    /// <paramref name="request"/>, sends it to the upstream (only to hosts the policy allows for each label) and returns the
    /// response with every injected value scrubbed. An upstream 4xx or 5xx is a response, not an exception.
    /// </summary>
    /// <remarks>
    /// The request may have effects upstream, so it is not retried once it may have left: only a refusal the server made
    /// before sending anything (429, 503) or a failed connection to the server is retried. The whole exchange is bounded by
    /// <see cref="AgentScopeClientOptions.RequestTimeout"/>.
    /// </remarks>
    /// <exception cref="AgentScopeException">
    /// Invalid request, a host not allowed for a label (access denied), an unknown label (not found), or
    /// <see cref="ErrorKind.UpstreamFailed"/>: the upstream could not be reached, timed out, redirected to another origin,
    /// or no answer came from the AgentScope server in time (the upstream may then have received the request).
    /// </exception>
    public async Task<InjectedResponse> RequestAsync(InjectedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var content = JsonContent.Create(request, ClientJson.Default.InjectedRequest);
        return (await SendAsync(HttpMethod.Post, "v0/request", content, ClientJson.Default.InjectedResponse, cancellationToken,
            pipeline: _requestPipeline).ConfigureAwait(false))!;
    }

    /// <summary>Creates or overwrites a value. <see cref="StoreResult.Created"/> tells which.</summary>
    public async Task<StoreResult> StoreAsync(string label, SecretValue value, StoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        var body = new StoreRequest(label, value.Reveal(), options?.Kind == SecretKind.Totp ? "totp" : null, options?.ExpiresAt);
        var content = JsonContent.Create(body, ClientJson.Default.StoreRequest);
        var (r, status) = await SendWithStatusAsync(HttpMethod.Post, "v0/vault", content, ClientJson.Default.StoreResponse, cancellationToken).ConfigureAwait(false);
        return new StoreResult(r!.Label, r.Version, r.UpdatedAt, status == HttpStatusCode.Created);
    }

    /// <summary>Deletes a label and all its versions.</summary>
    public Task DeleteAsync(string label, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, "v0/vault/" + Escape(label), null, null, cancellationToken);

    /// <summary>The labels this agent may list (never values).</summary>
    public async Task<IReadOnlyList<VaultLabel>> ListAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Get, "v0/vault", null, ClientJson.Default.LabelsResponse, cancellationToken).ConfigureAwait(false))!.Labels;

    /// <summary>The current TOTP code of a TOTP entry (the seed never leaves the server).</summary>
    public async Task<TotpCode> GetTotpAsync(string label, CancellationToken cancellationToken = default)
    {
        var r = await SendAsync(HttpMethod.Get, "v0/vault/" + Escape(label) + "/totp", null, ClientJson.Default.TotpResponse, cancellationToken).ConfigureAwait(false);
        return new TotpCode(r!.Code, r.Remaining);
    }

    /// <summary>Reads many labels in one round trip; null reads every label the agent may read.</summary>
    public async Task<BatchGetResult> BatchGetAsync(IEnumerable<string>? labels, CancellationToken cancellationToken = default)
    {
        var content = JsonContent.Create(new BatchGetRequest(labels?.ToList()), ClientJson.Default.BatchGetRequest);
        var r = await SendAsync(HttpMethod.Post, "v0/vault/batch-get", content, ClientJson.Default.BatchGetResponse, cancellationToken).ConfigureAwait(false);
        var values = (r!.Values ?? []).Select(ToSecret).ToList();
        var errors = new Dictionary<string, AgentScopeException>(StringComparer.Ordinal);
        foreach (var e in r.Errors ?? [])
        {
            errors[e.Label] = new AgentScopeException(ErrorCodes.FromCode(e.Error.Code) ?? ErrorKind.BackendUnavailable, e.Error.Message);
        }

        return new BatchGetResult(values, errors);
    }

    private static VaultSecret ToSecret(SecretResponse r) =>
        new(r.Label, new SecretValue(r.Value), r.Version, r.UpdatedAt) { Kind = r.Kind ?? "generic", ExpiresAt = r.ExpiresAt };

    private async Task<T?> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T>? type, CancellationToken ct,
        (string Name, string Value)? header = null, ResiliencePipeline<HttpResponseMessage>? pipeline = null) =>
        (await SendWithStatusAsync(method, path, content, type, ct, header, pipeline).ConfigureAwait(false)).Body;

    private async Task<(T? Body, HttpStatusCode Status)> SendWithStatusAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T>? type, CancellationToken ct,
        (string Name, string Value)? header = null, ResiliencePipeline<HttpResponseMessage>? pipeline = null)
    {
        pipeline ??= _pipeline;
        // Buffer the body once so every retry can resend it.
        var payload = content is null ? null : await content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        HttpResponseMessage response;
        try
        {
            response = await pipeline.ExecuteAsync(async token =>
            {
                using var request = new HttpRequestMessage(method, new Uri(_base, path));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
                AddContextHeaders(request, header);
                if (payload is not null)
                {
                    request.Content = new ByteArrayContent(payload);
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                }

                return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException) when (pipeline == _requestPipeline)
        {
            throw new AgentScopeException(ErrorKind.UpstreamFailed,
                $"no answer from the AgentScope server at {_base.GetLeftPart(UriPartial.Authority)} within {_options.RequestTimeout.TotalSeconds:0.#} s; " +
                "the request may or may not have reached the upstream");
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw AgentScopeException.Unavailable($"AgentScope server at {_base.GetLeftPart(UriPartial.Authority)} is unreachable ({e.GetType().Name})", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ToExceptionAsync(response, ct).ConfigureAwait(false);
            }

            if (type is null || response.StatusCode == HttpStatusCode.NoContent)
            {
                return (default, response.StatusCode);
            }

            try
            {
                return (await response.Content.ReadFromJsonAsync(type, ct).ConfigureAwait(false), response.StatusCode);
            }
            catch (JsonException e)
            {
                throw AgentScopeException.Unavailable("the AgentScope server sent a response this client cannot read", e);
            }
        }
    }

    private void AddContextHeaders(HttpRequestMessage request, (string Name, string Value)? header)
    {
        if (_context.Justification is { Length: > 0 } justification)
        {
            request.Headers.TryAddWithoutValidation(JustificationHeader, justification);
        }

        // The server keeps a request id of this shape and makes up its own otherwise; anything else is not sent at all.
        if (_context.RequestId is { Length: > 0 and <= 64 } id && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
        {
            request.Headers.TryAddWithoutValidation(RequestIdHeader, id);
        }

        if (header is var (name, value))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }

    internal static async Task<AgentScopeException> ToExceptionAsync(HttpResponseMessage response, CancellationToken ct)
    {
        ErrorBody? body = null;
        try
        {
            body = (await response.Content.ReadFromJsonAsync(ClientJson.Default.ErrorEnvelope, ct).ConfigureAwait(false))?.Error;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not our error body (a proxy, say): fall back to the status code.
        }

        var status = (int)response.StatusCode;
        var kind = ErrorCodes.FromCode(body?.Code) ?? status switch
        {
            400 => ErrorKind.InvalidInput,
            401 => ErrorKind.Unauthenticated,
            403 => ErrorKind.AccessDenied,
            404 => ErrorKind.NotFound,
            409 => ErrorKind.Conflict,
            413 => ErrorKind.ValueTooLarge,
            429 => ErrorKind.RateLimited,
            _ => ErrorKind.BackendUnavailable,
        };
        return new AgentScopeException(kind, body?.Message ?? $"the AgentScope server answered {status}") { RetryAfter = RetryAfter(response) };
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } d ? d - DateTimeOffset.UtcNow : null);

    // Reads, stores and deletes: retried on connection failures, timeouts and the server's transient answers.
    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(AgentScopeClientOptions options, ILogger logger) =>
        BuildPipeline(options, logger, options.AttemptTimeout, "AgentScope request failed", new PredicateBuilder<HttpResponseMessage>()
            .Handle<HttpRequestException>()
            .Handle<TimeoutRejectedException>()
            .HandleResult(r => r.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
                or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout));

    // POST /v0/request may have effects upstream: retried only when the server refused before sending anything (429, 503)
    // or the connection to the server could not be made; one attempt may last the whole RequestTimeout.
    private static ResiliencePipeline<HttpResponseMessage> BuildRequestPipeline(AgentScopeClientOptions options, ILogger logger) =>
        BuildPipeline(options, logger, options.RequestTimeout, "AgentScope injected request refused before sending", new PredicateBuilder<HttpResponseMessage>()
            .Handle<HttpRequestException>(e => e.HttpRequestError == HttpRequestError.ConnectionError)
            .HandleResult(r => r.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable));

    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(AgentScopeClientOptions options, ILogger logger, TimeSpan attemptTimeout,
        string what, PredicateBuilder<HttpResponseMessage> shouldHandle)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = shouldHandle,
                // The server's Retry-After when it sends one (capped at 30 s); otherwise the exponential backoff.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r && RetryAfter(r) is { } ra && ra > TimeSpan.Zero
                    ? (TimeSpan?)TimeSpan.FromTicks(Math.Min(ra.Ticks, TimeSpan.FromSeconds(30).Ticks))
                    : null),
                OnRetry = args =>
                {
                    logger.LogWarning("{What} ({Outcome}); retry {Attempt} in {Delay}", what,
                        args.Outcome.Result?.StatusCode.ToString() ?? args.Outcome.Exception?.GetType().Name, args.AttemptNumber + 1, args.RetryDelay);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddTimeout(attemptTimeout);
        return builder.Build();
    }

    private static string Escape(string label) => Uri.EscapeDataString(label);
}
