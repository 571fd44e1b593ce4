using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// Calls one Secrets Manager operation over the JSON protocol: <c>POST /</c>, <c>X-Amz-Target: secretsmanager.{Operation}</c>,
/// <c>Content-Type: application/x-amz-json-1.1</c>, signed with SigV4 (signed again on every attempt).
/// Throttling, 5xx, transport failures and timeouts are retried with jittered exponential backoff at bounded concurrency and
/// then surface as <see cref="ErrorKind.BackendUnavailable"/>; refused credentials or permissions as
/// <see cref="ErrorKind.BackendPermission"/> naming the IAM action; every other service error as <see cref="AwsServiceError"/>
/// for the caller to interpret.
/// </summary>
internal sealed class SecretsManagerClient : IDisposable
{
    internal const string Service = "secretsmanager";
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/x-amz-json-1.1");

    private readonly Func<HttpClient> _httpClient;
    private readonly AwsEnvironment _environment;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _gate;
    private readonly int _maxRetries;
    private readonly SigV4Signer.SigningKeyCache _signingKeys = new();

    internal SecretsManagerClient(AwsSecretsManagerOptions options, Func<HttpClient> httpClient, AwsEnvironment environment, TimeProvider time)
    {
        _httpClient = httpClient;
        _environment = environment;
        _time = time;
        _maxRetries = options.MaxRetries;
        _gate = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome.Exception, args.Context.CancellationToken)),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
            });
        }

        _pipeline = builder.AddTimeout(options.RequestTimeout).Build();
    }

    /// <summary>Calls an operation and reads its answer.</summary>
    internal async Task<TResponse> SendAsync<TRequest, TResponse>(
        string operation,
        string resource,
        TRequest request,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
        where TResponse : new()
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestType);
        try
        {
            var answer = await _pipeline.ExecuteAsync(
                static async (state, ct) => await state.self.AttemptAsync(state.operation, state.body, ct).ConfigureAwait(false),
                (self: this, operation, body),
                cancellationToken).ConfigureAwait(false);
            return answer.Length == 0 ? new TResponse() : JsonSerializer.Deserialize(answer, responseType) ?? new TResponse();
        }
        catch (AwsServiceError e) when (e.IsTransient)
        {
            throw Unavailable(operation, resource, $"{e.Type}, HTTP {e.Status}", e);
        }
        catch (AwsServiceError e) when (e.IsPermission)
        {
            throw Permission(e, resource);
        }
        catch (TimeoutRejectedException e)
        {
            throw Unavailable(operation, resource, "timed out", e);
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(operation, resource, "connection failed", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(operation, resource, "timed out", e);
        }
        catch (JsonException e)
        {
            throw Unavailable(operation, resource, "unreadable answer", e);
        }
    }

    private async ValueTask<byte[]> AttemptAsync(string operation, byte[] body, CancellationToken cancellationToken)
    {
        var credentials = await _environment.GetCredentialsAsync().ConfigureAwait(false);
        var endpoint = _environment.Endpoint;
        var region = _environment.Region;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
            var host = endpoint.Authority;
            var target = "secretsmanager." + operation;
            request.Headers.Host = host;
            request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
            var signature = SigV4Signer.Sign(
                "POST",
                SigV4Signer.CanonicalUri(endpoint.AbsolutePath),
                string.Empty,
                [new("Content-Type", JsonContentType.ToString()), new("Host", host), new("X-Amz-Target", target)],
                SigV4Signer.HashPayload(body),
                credentials.AccessKey,
                credentials.SecretKey,
                credentials.UseToken ? credentials.Token : null,
                region,
                Service,
                _time.GetUtcNow(),
                _signingKeys);
            request.Headers.TryAddWithoutValidation("X-Amz-Date", signature.AmzDate);
            if (credentials.UseToken)
            {
                request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
            }

            request.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);

            using var response = await _httpClient().SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return answer;
            }

            var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.FirstOrDefault() : null;
            throw new AwsServiceError(operation, ErrorType(response, answer), (int)response.StatusCode, SafeRequestId(requestId));
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string ErrorType(HttpResponseMessage response, byte[] answer)
    {
        if (response.Headers.TryGetValues("x-amzn-ErrorType", out var header) && header.FirstOrDefault() is { Length: > 0 } fromHeader)
        {
            return AwsServiceError.NormaliseType(fromHeader);
        }

        try
        {
            if (answer.Length > 0 && JsonSerializer.Deserialize(answer, ProtocolJson.Default.ErrorResponse) is { Type: { } type })
            {
                return AwsServiceError.NormaliseType(type);
            }
        }
        catch (JsonException)
        {
            // A proxy's HTML page, say: the status code is all there is.
        }

        return (int)response.StatusCode >= 500 ? "InternalServiceError" : "UnknownError";
    }

    private static string? SafeRequestId(string? id) =>
        id is { Length: > 0 and <= 100 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') ? id : null;

    private static bool IsTransient(Exception? e, CancellationToken attemptToken) => e switch
    {
        AwsServiceError error => error.IsTransient,
        HttpRequestException or TimeoutRejectedException => true,
        OperationCanceledException => !attemptToken.IsCancellationRequested,
        _ => false,
    };

    private AgentScopeException Unavailable(string operation, string resource, string why, Exception inner) => AgentScopeException.Unavailable(
        $"AWS Secrets Manager is unavailable: {operation} on '{resource}' failed {_maxRetries + 1} times ({why})", inner);

    private static AgentScopeException Permission(AwsServiceError e, string resource)
    {
        var reference = e.RequestId is null ? string.Empty : $", request id {e.RequestId}";
        var message = e.IsCredentialProblem
            ? $"AWS Secrets Manager refused AgentScope's AWS credentials calling secretsmanager:{e.Operation} ({e.Type}{reference}): check the access key, its session token and the clock"
            : e.Type is "DecryptionFailure" or "EncryptionFailure" or "KMSAccessDeniedException" or "KMSDisabledException" or "KMSInvalidStateException"
                ? $"AWS Secrets Manager could not use the secret's KMS key for secretsmanager:{e.Operation} on '{resource}' ({e.Type}{reference}): AgentScope's identity needs kms:Decrypt and kms:GenerateDataKey on it"
                : $"AWS denied secretsmanager:{e.Operation} on '{resource}' ({e.Type}{reference}): allow AgentScope's identity that action (see docs/providers/aws-secrets-manager.md for the minimal policy)";
        return new AgentScopeException(ErrorKind.BackendPermission, message, e);
    }

    public void Dispose() => _gate.Dispose();
}
