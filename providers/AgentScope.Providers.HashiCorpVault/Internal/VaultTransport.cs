using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace AgentScope.Providers.HashiCorpVault.Internal;

/// <summary>One request to Vault's HTTP API, relative to <c>/v1/</c>.</summary>
internal readonly record struct VaultCall(HttpMethod Method, string Path, byte[]? Body = null, string? Query = null)
{
    public static readonly HttpMethod List = new("LIST");

    public override string ToString() => $"{Method} {Path}";
}

/// <summary>Vault's answer: status, body and any Retry-After. The body may hold a value or a token: never put it in a message.</summary>
internal sealed class VaultReply(int status, byte[] body, TimeSpan? retryAfter)
{
    public int Status { get; } = status;

    public byte[] Body { get; } = body;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsSuccess => Status is >= 200 and < 300;

    public T Read<T>(JsonTypeInfo<T> type, VaultCall call) where T : class
    {
        try
        {
            return (Body.Length == 0 ? null : JsonSerializer.Deserialize(Body, type))
                ?? throw AgentScopeException.Unavailable($"Vault answered {call} with an empty body");
        }
        catch (JsonException e)
        {
            // The exception's message may quote the body; keep only that it was unreadable.
            throw AgentScopeException.Unavailable($"Vault answered {call} with a body that is not the documented JSON (status {Status}, {e.GetType().Name})");
        }
    }

    /// <summary>The error strings of Vault's <c>{"errors": [...]}</c> body, cut short; empty when there are none.</summary>
    public IReadOnlyList<string> Errors()
    {
        if (IsSuccess || Body.Length == 0)
        {
            return [];
        }

        try
        {
            var errors = JsonSerializer.Deserialize(Body, VaultJsonContext.Default.VaultErrorBody)?.Errors ?? [];
            return errors.Select(e => e.Length > 300 ? e[..300] + "..." : e).ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>Vault's errors as one line (multierror's "1 error occurred:\n\t* x" becomes "x").</summary>
    public string ErrorText()
    {
        var flat = Errors()
            .SelectMany(e => e.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Where(l => !l.EndsWith("occurred:", StringComparison.Ordinal))
            .Select(l => l.TrimStart('*', ' ', '\t'));
        var text = string.Join("; ", flat);
        return text.Length == 0 ? "no error text" : text;
    }
}

/// <summary>
/// Sends requests with the Vault headers and retries transient failures with Polly: 412 (eventual consistency), 429
/// (rate-limit quotas, standby), 500, 502, 503 (sealed, maintenance), 504, timeouts and refused or dropped connections,
/// with jittered exponential backoff that honours Retry-After; a rate-limited call (429) keeps waiting its turn, within
/// <c>RateLimitWait</c>, after the other retries are spent. When the retries are spent, the failure is a typed
/// "backend unavailable" error. Nothing here puts a token or a body in a message or a log.
/// </summary>
internal sealed class VaultTransport
{
    public const string HttpClientName = "AgentScope.HashiCorpVault";

    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RateLimitMaxBackoff = TimeSpan.FromSeconds(1);
    private static readonly ResiliencePropertyKey<long> StartedAt = new("AgentScope.HashiCorpVault.StartedAt");
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly IHttpClientFactory _factory;
    private readonly VaultSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<VaultReply> _pipeline;
    private readonly string _prefix;

    public VaultTransport(IHttpClientFactory factory, VaultSettings settings, TimeProvider time, ILogger logger)
    {
        _factory = factory;
        _settings = settings;
        _time = time;
        _logger = logger;
        _prefix = settings.BaseAddress.AbsoluteUri;
        var builder = new ResiliencePipelineBuilder<VaultReply> { TimeProvider = time };
        if (settings.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<VaultReply>
            {
                // Bounded by ShouldRetry: MaxRetries for every transient failure, RateLimitWait beyond that for 429.
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryBaseDelay,
                MaxDelay = MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.AttemptNumber, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result switch
                {
                    { RetryAfter: { } after } => (TimeSpan?)(after < MaxDelay ? after : MaxDelay),
                    { Status: 429 } => RateLimitBackoff(args.AttemptNumber),
                    _ => null,
                }),
                OnRetry = args =>
                {
                    if (args.Outcome.Result?.Status == 429)
                    {
                        // Normal under a rate limit quota: not worth a warning per call.
                        _logger.LogDebug("Vault rate limited a call (429); retry {Attempt} in {Delay} ms", args.AttemptNumber + 1, (int)args.RetryDelay.TotalMilliseconds);
                    }
                    else
                    {
                        _logger.LogWarning("Vault call failed transiently ({Reason}); retry {Attempt} of {Max} in {Delay} ms",
                            Describe(args.Outcome), args.AttemptNumber + 1, settings.MaxRetries, (int)args.RetryDelay.TotalMilliseconds);
                    }

                    return default;
                },
            });
        }

        _pipeline = builder.Build();
    }

    public VaultSettings Settings => _settings;

    /// <summary>Sends one call (retrying transient failures) and returns whatever Vault finally answered.</summary>
    /// <remarks>
    /// The first attempt goes out directly: almost every call succeeds at once, and the retry pipeline (a pooled context,
    /// its property bag, the strategy's bookkeeping) costs about a microsecond, a tenth of a loopback round trip. Only a
    /// transient first outcome enters the pipeline, which replays it as its attempt 0, so backoff, Retry-After and the
    /// attempt count are exactly what they would be had the pipeline made the first call itself.
    /// </remarks>
    public async Task<VaultReply> SendAsync(VaultCall call, string? token, CancellationToken cancellationToken, bool retry = true)
    {
        var started = _time.GetTimestamp();
        Outcome<VaultReply> outcome;
        try
        {
            outcome = Outcome.FromResult(await SendOnceAsync(call, token, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            outcome = Outcome.FromException<VaultReply>(e);
        }

        var attempts = 1;
        if (retry && _settings.MaxRetries > 0 && IsTransient(outcome, cancellationToken))
        {
            var retrying = new Retrying(this, call, token, outcome);
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(StartedAt, started);
            try
            {
                outcome = await _pipeline.ExecuteOutcomeAsync(static (ctx, r) => r.NextAsync(ctx.CancellationToken), context, retrying).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }

            attempts = retrying.Attempts;
        }

        return Finish(call, outcome, attempts, cancellationToken);
    }

    /// <summary>The final outcome as the caller sees it: a reply, or a typed error saying what failed after how many attempts.</summary>
    private VaultReply Finish(VaultCall call, Outcome<VaultReply> outcome, int attempts, CancellationToken cancellationToken)
    {
        switch (outcome.Exception)
        {
            case null:
                break;
            case HttpRequestException e:
                var reason = e.HttpRequestError == HttpRequestError.SecureConnectionError
                    ? "the TLS handshake failed: set CaCertificateFile to the CA that signs Vault's certificate"
                    : $"{e.HttpRequestError}";
                throw AgentScopeException.Unavailable($"Vault at {_settings.BaseAddress.GetLeftPart(UriPartial.Authority)} is unreachable for {call}: {reason} (after {Attempts(attempts)})", e);
            case OperationCanceledException e when !cancellationToken.IsCancellationRequested:
                throw AgentScopeException.Unavailable($"Vault did not answer {call} within {_settings.Timeout.TotalSeconds:0.#} s (after {Attempts(attempts)})", e);
            default:
                outcome.ThrowIfException();
                break;
        }

        var reply = outcome.Result!;
        if (IsTransientStatus(reply.Status))
        {
            var what = reply.Status == 503 ? "503 (sealed or down for maintenance)" : reply.Status == 429 ? "429 (rate limited or standby)" : reply.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw AgentScopeException.Unavailable($"Vault answered {what} to {call} ({reply.ErrorText()}) after {Attempts(attempts)}",
                retryAfter: reply.RetryAfter);
        }

        return reply;
    }

    // Every transient failure is retried MaxRetries times; a rate limit (429) also after that, until RateLimitWait has passed
    // since the call began: a quota clears, and a revoke of thousands of entries should wait for it rather than fail.
    private bool ShouldRetry(Outcome<VaultReply> outcome, int attempt, ResilienceContext context)
    {
        if (!IsTransient(outcome, context.CancellationToken))
        {
            return false;
        }

        if (attempt < _settings.MaxRetries)
        {
            return true;
        }

        return outcome.Result?.Status == 429
            && context.Properties.TryGetValue(StartedAt, out var started)
            && _time.GetElapsedTime(started) < _settings.RateLimitWait;
    }

    // Without Retry-After: exponential from RetryBaseDelay, capped at one second (a quota's usual interval) so a waiting
    // caller is back while the next interval's requests are still free, and jittered (half to full) so callers spread out.
    private TimeSpan RateLimitBackoff(int attempt)
    {
        var ceiling = Math.Min(RateLimitMaxBackoff.TotalMilliseconds, _settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20)));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private static string Attempts(int attempts) => attempts == 1 ? "1 attempt" : $"{attempts} attempts";

    private async Task<VaultReply> SendOnceAsync(VaultCall call, string? token, CancellationToken cancellationToken)
    {
        var client = _factory.CreateClient(HttpClientName);
        // An absolute URI from the prefix: resolving a relative one against the base costs more than the parse itself.
        using var request = new HttpRequestMessage(call.Method, new Uri(string.Concat(_prefix, call.Path, call.Query), UriKind.Absolute));
        request.Headers.TryAddWithoutValidation("X-Vault-Request", "true");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Token", token);
        }

        if (_settings.Namespace is { } ns)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Namespace", ns);
        }

        if (call.Body is { } body)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = Json;
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        // Only refusals carry Retry-After; parsing the header collection on every success would cost for nothing.
        TimeSpan? retryAfter = status < 400 ? null : response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - _time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero,
            _ => null,
        };
        return new VaultReply(status, bytes, retryAfter);
    }

    /// <summary>One call's retries: attempt 0 replays the first outcome, later attempts send again.</summary>
    private sealed class Retrying(VaultTransport transport, VaultCall call, string? token, Outcome<VaultReply> first)
    {
        private bool _replayed;

        public int Attempts { get; private set; } = 1;

        public async ValueTask<Outcome<VaultReply>> NextAsync(CancellationToken cancellationToken)
        {
            if (!_replayed)
            {
                _replayed = true;
                return first;
            }

            Attempts++;
            try
            {
                return Outcome.FromResult(await transport.SendOnceAsync(call, token, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                return Outcome.FromException<VaultReply>(e);
            }
        }
    }

    private static bool IsTransientStatus(int status) => status is 412 or 429 or 500 or 502 or 503 or 504;

    private static bool IsTransient(Outcome<VaultReply> outcome, CancellationToken cancellationToken) => outcome switch
    {
        { Exception: HttpRequestException e } => e.HttpRequestError != HttpRequestError.SecureConnectionError,
        { Exception: OperationCanceledException } => !cancellationToken.IsCancellationRequested,
        { Result: { } reply } => IsTransientStatus(reply.Status),
        _ => false,
    };

    private static string Describe(Outcome<VaultReply> outcome) => outcome switch
    {
        { Exception: HttpRequestException e } => e.HttpRequestError.ToString(),
        { Exception: OperationCanceledException } => "timeout",
        { Result: { } reply } => "status " + reply.Status,
        _ => "unknown",
    };
}
