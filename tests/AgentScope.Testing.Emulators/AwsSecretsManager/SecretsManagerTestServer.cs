using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Testing.Emulators.AwsSecretsManager;

/// <summary>
/// An in-process AWS Secrets Manager: the JSON protocol (awsJson1_1) on a real Kestrel server on 127.0.0.1 (a free port),
/// following the Secrets Manager API reference (docs.aws.amazon.com/secretsmanager/latest/apireference). What it follows:
/// <list type="bullet">
/// <item>Protocol: <c>POST /</c>, <c>X-Amz-Target: secretsmanager.{Operation}</c>, <c>Content-Type: application/x-amz-json-1.1</c>;
/// errors are HTTP 400 (500 for InternalServiceError) with <c>{"__type": "...", "message": "..."}</c> and an
/// <c>x-amzn-RequestId</c> header ("Common Errors", and each operation's "Errors").</item>
/// <item>Authentication: every request's SigV4 signature is recomputed with the known test key — canonical request built
/// here from what arrived on the wire, signature by the AWS SDK's own <c>AWS4Signer</c> — and a mismatch is answered with
/// <c>InvalidSignatureException</c>; an unknown access key or wrong session token with <c>UnrecognizedClientException</c>;
/// a request older than 15 minutes with "Signature expired" (SigV4 documentation: "Signing AWS API requests").</item>
/// <item>Names: ASCII letters, digits and <c>/_+=.@-</c>, at most 512 characters (CreateSecret: Name). SecretId accepts the
/// name or the full ARN (partial ARNs are not emulated).</item>
/// <item>SecretString: at most 65,536 bytes, else ValidationException (CreateSecret/PutSecretValue: SecretString; the
/// Secrets Manager quotas page).</item>
/// <item>Tags: at most 50 per secret, key 1–128 and value 0–256 characters of letters, digits, spaces and <c>+-=._:/@</c>,
/// the <c>aws:</c> prefix reserved (TagResource; Tag). Lengths break the model's constraints (ValidationException); count,
/// characters and the reserved prefix are InvalidParameterException.</item>
/// <item>CreateSecret on an existing name: ResourceExistsException; on a name scheduled for deletion:
/// InvalidRequestException "You can't create this secret because a secret with this name is already scheduled for deletion."</item>
/// <item>PutSecretValue makes a new version labelled AWSCURRENT, moving AWSPREVIOUS to the version that was current; a
/// repeated ClientRequestToken with the same value changes nothing, with another value it is ResourceExistsException
/// (PutSecretValue: ClientRequestToken).</item>
/// <item>GetSecretValue reads AWSCURRENT; a secret marked for deletion is InvalidRequestException ("You can't perform this
/// operation on the secret because it was marked for deletion."); a missing one ResourceNotFoundException
/// ("Secrets Manager can't find the specified secret.").</item>
/// <item>DeleteSecret: RecoveryWindowInDays 7–30 (default 30) keeps the secret, and its name reserved, until the window ends
/// or RestoreSecret; ForceDeleteWithoutRecovery deletes at once (optionally after <see cref="ForceDeletePurgeDelay"/>, since
/// AWS purges "with an asynchronous background process") and, as documented, does not answer ResourceNotFoundException
/// for a secret that does not exist; both together is InvalidParameterException.</item>
/// <item>RestoreSecret clears the deletion date. (Restoring a force-deleted secret that is still being purged is refused with
/// InvalidRequestException — an inference: AWS documents that such a secret cannot be recovered.)</item>
/// <item>ListSecrets: secrets scheduled for deletion left out unless IncludePlannedDeletion; MaxResults 1–100; NextToken
/// paging (an unknown token is InvalidNextTokenException); Filters (Filter): <c>name</c>, <c>tag-key</c>, <c>tag-value</c>
/// are case-sensitive prefix matches, <c>description</c> a case-insensitive one, '!' negates; values of one filter are
/// alternatives and different filters must all match. With <see cref="SparsePages"/>, filters apply after paging, so a page
/// may be short or empty while NextToken is still present — a client must page until NextToken is absent.</item>
/// <item>DescribeSecret returns tags and DeletedDate; TagResource adds or replaces tags.</item>
/// </list>
/// Switches inject failures: <see cref="FailNext"/> (ThrottlingException, 5xx), <see cref="Latency"/>,
/// <see cref="SetRateLimit"/> (ThrottlingException above a rate), <see cref="Deny"/> (AccessDeniedException).
/// BatchGetSecretValue and UntagResource are not emulated: AgentScope does not call them.
/// </summary>
public sealed class SecretsManagerTestServer : IAsyncDisposable
{
    public const string AccessKey = "AKIDAGENTSCOPETEST01";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYAGENTSCOPE";
    public const string Region = "us-east-1";
    public const string AccountId = "123456789012";
    public const int SecretStringMaxBytes = 65_536;

    private static readonly Regex NamePattern = new("^[A-Za-z0-9/_+=.@-]{1,512}$", RegexOptions.CultureInvariant);
    private static readonly Regex FilterValuePattern = new(@"^!?[a-zA-Z0-9 :_@/+=.\-!]*$", RegexOptions.CultureInvariant);

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, StoredSecret> _secrets = new(StringComparer.Ordinal);
    private readonly List<StoredSecret> _order = [];
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly ConcurrentDictionary<string, TokenBucket> _rateLimits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _denied = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal) { [AccessKey] = SecretKey };
    private TimeSpan _clockOffset;
    private (string Operation, int Successes, int Status, string Type)? _break;
    private int _throttled;
    private int _signatureFailures;

    private SecretsManagerTestServer(WebApplication app) => _app = app;

    /// <summary>The endpoint, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>When set, requests must carry this X-Amz-Security-Token (temporary credentials).</summary>
    public string? RequiredSessionToken { get; set; }

    /// <summary>A delay added before every answer.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>How long a forced deletion keeps the name reserved before the purge completes (zero: at once).</summary>
    public TimeSpan ForceDeletePurgeDelay { get; set; }

    /// <summary>When true, ListSecrets filters each page after cutting it, so pages can be short or empty.</summary>
    public bool SparsePages { get; set; }

    /// <summary>How many requests were throttled by <see cref="SetRateLimit"/>.</summary>
    public int ThrottledCount => Volatile.Read(ref _throttled);

    /// <summary>How many requests failed signature verification.</summary>
    public int SignatureFailures => Volatile.Read(ref _signatureFailures);

    public static async Task<SecretsManagerTestServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new SecretsManagerTestServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.Url = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Another accepted key pair.</summary>
    public void AddAccessKey(string accessKey, string secretKey) => _keys[accessKey] = secretKey;

    /// <summary>The next <paramref name="times"/> calls (of <paramref name="operation"/>, or any when null) fail this way.</summary>
    public void FailNext(string? operation, int times, int status = 400, string type = "ThrottlingException")
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue(new Fault(operation, status, type));
        }
    }

    /// <summary>After <paramref name="successes"/> more calls of <paramref name="operation"/>, every further one fails (an outage midway).</summary>
    public void BreakAfter(string operation, int successes, int status = 500, string type = "InternalServiceError")
    {
        lock (_lock)
        {
            _break = (operation, successes, status, type);
        }
    }

    public void ClearFaults()
    {
        _faults.Clear();
        lock (_lock)
        {
            _break = null;
        }
    }

    /// <summary>Answers ThrottlingException to calls of <paramref name="operation"/> above <paramref name="perSecond"/>.</summary>
    public void SetRateLimit(string operation, double perSecond) => _rateLimits[operation] = new TokenBucket(perSecond);

    /// <summary>Denies an IAM action, e.g. <c>secretsmanager:CreateSecret</c>.</summary>
    public void Deny(string action) => _denied[action] = true;

    public void Allow(string action) => _denied.TryRemove(action, out _);

    /// <summary>Moves the server's clock (recovery windows end; signatures are still checked against real time).</summary>
    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _clockOffset += by;
        }
    }

    public int Calls(string operation) => _calls.TryGetValue(operation, out var n) ? n : 0;

    public int TotalCalls => _calls.Values.Sum();

    public void ResetCalls() => _calls.Clear();

    /// <summary>Names of live secrets (not scheduled for deletion).</summary>
    public IReadOnlyList<string> LiveNames()
    {
        lock (_lock)
        {
            Purge();
            return _order.Where(s => s.DeletedDate is null).Select(s => s.Name).ToList();
        }
    }

    /// <summary>Names scheduled for deletion (recovery window, or a forced purge still running).</summary>
    public IReadOnlyList<string> ScheduledNames()
    {
        lock (_lock)
        {
            Purge();
            return _order.Where(s => s.DeletedDate is not null).Select(s => s.Name).ToList();
        }
    }

    public string? CurrentSecretString(string name)
    {
        lock (_lock)
        {
            return _secrets.TryGetValue(name, out var s) ? s.Current?.SecretString : null;
        }
    }

    /// <summary>The SecretString of the version carrying <paramref name="stage"/> (AWSCURRENT, AWSPREVIOUS); null when none does.</summary>
    public string? SecretStringAt(string name, string stage)
    {
        lock (_lock)
        {
            return _secrets.TryGetValue(name, out var s) ? s.Versions.FirstOrDefault(v => v.Stages.Contains(stage))?.SecretString : null;
        }
    }

    /// <summary>The id of the version carrying <paramref name="stage"/>; null when none does.</summary>
    public string? VersionIdAt(string name, string stage)
    {
        lock (_lock)
        {
            return _secrets.TryGetValue(name, out var s) ? s.Versions.FirstOrDefault(v => v.Stages.Contains(stage))?.Id : null;
        }
    }

    /// <summary>Every version as <c>id:stage,stage</c>, oldest first.</summary>
    public IReadOnlyList<string> VersionStages(string name)
    {
        lock (_lock)
        {
            return _secrets.TryGetValue(name, out var s)
                ? s.Versions.Select(v => v.Id + ":" + string.Join(',', v.Stages)).ToList()
                : [];
        }
    }

    public IReadOnlyDictionary<string, string> Tags(string name)
    {
        lock (_lock)
        {
            return _secrets.TryGetValue(name, out var s) ? s.Tags.ToDictionary(t => t.Key, t => t.Value) : new Dictionary<string, string>();
        }
    }

    public string? KmsKeyId(string name)
    {
        lock (_lock)
        {
            return _secrets.TryGetValue(name, out var s) ? s.KmsKeyId : null;
        }
    }

    /// <summary>What an operator editing the secret in the console would do: a new current version with this string.</summary>
    public void OverwriteOutOfBand(string name, string secretString)
    {
        lock (_lock)
        {
            NewVersion(_secrets[name], Guid.NewGuid().ToString(), secretString);
        }
    }

    /// <summary>Replaces or removes tags behind AgentScope's back.</summary>
    public void SetTagOutOfBand(string name, string key, string? value)
    {
        lock (_lock)
        {
            var s = _secrets[name];
            s.Tags.RemoveAll(t => t.Key == key);
            if (value is not null)
            {
                s.Tags.Add(new(key, value));
            }
        }
    }

    /// <summary>Creates a secret directly (someone else's, or a foreign layout).</summary>
    public void Seed(string name, string secretString, params (string Key, string Value)[] tags)
    {
        lock (_lock)
        {
            var s = new StoredSecret(name, Arn(name), Now) { Tags = tags.Select(t => new KeyValuePair<string, string>(t.Key, t.Value)).ToList() };
            NewVersion(s, Guid.NewGuid().ToString(), secretString);
            _secrets[name] = s;
            _order.Add(s);
        }
    }

    private DateTimeOffset Now => DateTimeOffset.UtcNow + _clockOffset;

    private async Task HandleAsync(HttpContext http)
    {
        var requestId = Guid.NewGuid().ToString();
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();

        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency);
        }

        var (status, answer) = Handle(http, body);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/x-amz-json-1.1";
        await http.Response.WriteAsync(answer.ToJsonString());
    }

    private (int, JsonObject) Handle(HttpContext http, byte[] body)
    {
        if (!HttpMethods.IsPost(http.Request.Method) || http.Request.Path != "/")
        {
            return Error("UnknownOperationException", "Only POST / is served.");
        }

        if (VerifySignature(http, body) is { } refused)
        {
            Interlocked.Increment(ref _signatureFailures);
            return refused;
        }

        if (http.Request.ContentType != "application/x-amz-json-1.1")
        {
            return Error("SerializationException", "Expected Content-Type application/x-amz-json-1.1.");
        }

        var target = http.Request.Headers["X-Amz-Target"].ToString();
        if (!target.StartsWith("secretsmanager.", StringComparison.Ordinal))
        {
            return Error("UnknownOperationException", "Missing or unknown X-Amz-Target.");
        }

        var operation = target["secretsmanager.".Length..];
        _calls.AddOrUpdate(operation, 1, (_, n) => n + 1);

        if (_rateLimits.TryGetValue(operation, out var bucket) && !bucket.TryTake())
        {
            Interlocked.Increment(ref _throttled);
            return Error("ThrottlingException", "Rate exceeded");
        }

        if (TakeBreak(operation) is { } broken)
        {
            return (broken.Status, new JsonObject { ["__type"] = broken.Type, ["message"] = "An error occurred on the server side." });
        }

        if (TakeFault(operation) is { } fault)
        {
            return fault.Status >= 500
                ? (fault.Status, new JsonObject { ["__type"] = fault.Type, ["message"] = "An error occurred on the server side." })
                : Error(fault.Type, fault.Type == "ThrottlingException" ? "Rate exceeded" : "Injected failure.", fault.Status);
        }

        JsonObject request;
        try
        {
            request = JsonNode.Parse(body.Length == 0 ? "{}"u8 : body) as JsonObject ?? throw new JsonException();
        }
        catch (JsonException)
        {
            return Error("SerializationException", "The request body is not a JSON object.");
        }

        var secretId = request["SecretId"]?.GetValue<string>() ?? request["Name"]?.GetValue<string>() ?? "*";
        if (_denied.ContainsKey("secretsmanager:" + operation))
        {
            return Error("AccessDeniedException",
                $"User: arn:aws:iam::{AccountId}:user/agentscope-test is not authorized to perform: secretsmanager:{operation} on resource: {secretId} because no identity-based policy allows the secretsmanager:{operation} action");
        }

        lock (_lock)
        {
            Purge();
            return operation switch
            {
                "CreateSecret" => CreateSecret(request),
                "PutSecretValue" => PutSecretValue(request),
                "GetSecretValue" => GetSecretValue(request),
                "DeleteSecret" => DeleteSecret(request),
                "RestoreSecret" => RestoreSecret(request),
                "DescribeSecret" => DescribeSecret(request),
                "ListSecrets" => ListSecrets(request),
                "TagResource" => TagResource(request),
                _ => Error("UnknownOperationException", $"Unknown operation {operation}."),
            };
        }
    }

    // ---- operations ----

    private (int, JsonObject) CreateSecret(JsonObject r)
    {
        var name = Str(r, "Name");
        if (name is null || !NamePattern.IsMatch(name))
        {
            return Error("ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: /_+=.@-");
        }

        if (CheckValue(r) is { } invalid)
        {
            return invalid;
        }

        var tags = ReadTags(r, out var tagError);
        if (tagError is not null)
        {
            return tagError.Value;
        }

        if (tags.Count > 50)
        {
            return Error("InvalidParameterException", "Too many tags: a secret holds at most 50.");
        }

        if (_secrets.TryGetValue(name, out var existing))
        {
            return existing.DeletedDate is not null
                ? Error("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
                : Error("ResourceExistsException", $"The operation failed because the secret {name} already exists.");
        }

        var secret = new StoredSecret(name, Arn(name), Now)
        {
            Description = Str(r, "Description"),
            KmsKeyId = Str(r, "KmsKeyId"),
            Tags = tags,
        };
        var versionId = Str(r, "ClientRequestToken") ?? Guid.NewGuid().ToString();
        if (Str(r, "SecretString") is { } value)
        {
            NewVersion(secret, versionId, value);
        }

        _secrets[name] = secret;
        _order.Add(secret);
        return Ok(new JsonObject { ["ARN"] = secret.Arn, ["Name"] = name, ["VersionId"] = secret.Current?.Id });
    }

    private (int, JsonObject) PutSecretValue(JsonObject r)
    {
        if (Find(r, out var secret) is { } missing)
        {
            return missing;
        }

        if (secret!.DeletedDate is not null)
        {
            return MarkedForDeletion();
        }

        if (CheckValue(r) is { } invalid)
        {
            return invalid;
        }

        var value = Str(r, "SecretString");
        if (value is null)
        {
            return Error("InvalidParameterException", "You must provide either SecretString or SecretBinary.");
        }

        var token = Str(r, "ClientRequestToken") ?? Guid.NewGuid().ToString();
        if (secret.Versions.FirstOrDefault(v => v.Id == token) is { } same)
        {
            if (same.SecretString != value)
            {
                return Error("ResourceExistsException", "You can't modify an existing version, you can only create new versions.");
            }
        }
        else
        {
            NewVersion(secret, token, value);
        }

        var current = secret.Versions.First(v => v.Id == token);
        return Ok(new JsonObject
        {
            ["ARN"] = secret.Arn,
            ["Name"] = secret.Name,
            ["VersionId"] = token,
            ["VersionStages"] = new JsonArray(current.Stages.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
        });
    }

    private (int, JsonObject) GetSecretValue(JsonObject r)
    {
        if (Find(r, out var secret) is { } missing)
        {
            return missing;
        }

        if (secret!.DeletedDate is not null)
        {
            return MarkedForDeletion();
        }

        var stage = Str(r, "VersionStage") ?? "AWSCURRENT";
        var versionId = Str(r, "VersionId");
        var version = versionId is not null
            ? secret.Versions.FirstOrDefault(v => v.Id == versionId)
            : secret.Versions.FirstOrDefault(v => v.Stages.Contains(stage));
        if (version is null)
        {
            return Error("ResourceNotFoundException", $"Secrets Manager can't find the specified secret value for staging label: {stage}");
        }

        return Ok(new JsonObject
        {
            ["ARN"] = secret.Arn,
            ["Name"] = secret.Name,
            ["VersionId"] = version.Id,
            ["SecretString"] = version.SecretString,
            ["VersionStages"] = new JsonArray(version.Stages.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
            ["CreatedDate"] = Epoch(version.Created),
        });
    }

    private (int, JsonObject) DeleteSecret(JsonObject r)
    {
        var force = r["ForceDeleteWithoutRecovery"]?.GetValue<bool>() ?? false;
        var window = r["RecoveryWindowInDays"]?.GetValue<long>();
        if (force && window is not null)
        {
            return Error("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
        }

        if (window is < 7 or > 30)
        {
            return Error("InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
        }

        var id = Str(r, "SecretId");
        var secret = Resolve(id);
        if (secret is null)
        {
            // Documented: a forced delete of a deleted or nonexistent secret does not return ResourceNotFoundException.
            return force
                ? Ok(new JsonObject { ["Name"] = id, ["DeletionDate"] = Epoch(Now) })
                : Error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
        }

        if (force)
        {
            secret.DeletedDate ??= Now;
            secret.ForceDeleted = true;
            secret.PurgeAt = Now + ForceDeletePurgeDelay;
            Purge();
            return Ok(new JsonObject { ["ARN"] = secret.Arn, ["Name"] = secret.Name, ["DeletionDate"] = Epoch(Now) });
        }

        if (secret.DeletedDate is not null)
        {
            return Error("InvalidRequestException", "You can't perform this operation on the secret because it was already scheduled for deletion.");
        }

        secret.DeletedDate = Now;
        secret.PurgeAt = Now + TimeSpan.FromDays(window ?? 30);
        return Ok(new JsonObject { ["ARN"] = secret.Arn, ["Name"] = secret.Name, ["DeletionDate"] = Epoch(secret.PurgeAt.Value) });
    }

    private (int, JsonObject) RestoreSecret(JsonObject r)
    {
        if (Find(r, out var secret) is { } missing)
        {
            return missing;
        }

        if (secret!.ForceDeleted)
        {
            return Error("InvalidRequestException", "You can't restore a secret that was deleted without a recovery window.");
        }

        secret.DeletedDate = null;
        secret.PurgeAt = null;
        return Ok(new JsonObject { ["ARN"] = secret.Arn, ["Name"] = secret.Name });
    }

    private (int, JsonObject) DescribeSecret(JsonObject r)
    {
        if (Find(r, out var secret) is { } missing)
        {
            return missing;
        }

        return Ok(Describe(secret!));
    }

    private (int, JsonObject) ListSecrets(JsonObject r)
    {
        var max = (int)(r["MaxResults"]?.GetValue<long>() ?? 100);
        if (max is < 1 or > 100)
        {
            return Error("ValidationException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100");
        }

        var includeDeleted = r["IncludePlannedDeletion"]?.GetValue<bool>() ?? false;
        var filters = new List<(string Key, List<string> Values)>();
        if (r["Filters"] is JsonArray filterArray)
        {
            if (filterArray.Count > 10)
            {
                return Error("ValidationException", "At most 10 filters.");
            }

            foreach (var f in filterArray.OfType<JsonObject>())
            {
                var key = Str(f, "Key");
                var values = (f["Values"] as JsonArray)?.Select(v => v!.GetValue<string>()).ToList() ?? [];
                if (key is not ("description" or "name" or "tag-key" or "tag-value" or "primary-region" or "owning-service" or "all"))
                {
                    return Error("ValidationException", "Invalid filter key.");
                }

                if (values.Count is < 1 or > 10 || values.Any(v => v.Length > 512 || !FilterValuePattern.IsMatch(v)))
                {
                    return Error("ValidationException", "Invalid filter values.");
                }

                filters.Add((key, values));
            }
        }

        var offset = 0;
        if (Str(r, "NextToken") is { } token)
        {
            if (!TryReadToken(token, out offset))
            {
                return Error("InvalidNextTokenException", "The NextToken value is invalid.");
            }
        }

        var candidates = _order.Where(s => includeDeleted || s.DeletedDate is null).ToList();
        List<StoredSecret> page;
        int next;
        if (SparsePages)
        {
            page = candidates.Skip(offset).Take(max).Where(s => Matches(s, filters)).ToList();
            next = offset + max;
        }
        else
        {
            candidates = candidates.Where(s => Matches(s, filters)).ToList();
            page = candidates.Skip(offset).Take(max).ToList();
            next = offset + page.Count;
        }

        var answer = new JsonObject { ["SecretList"] = new JsonArray(page.Select(s => (JsonNode)Describe(s)).ToArray()) };
        if (next < candidates.Count)
        {
            answer["NextToken"] = WriteToken(next);
        }

        return Ok(answer);
    }

    private (int, JsonObject) TagResource(JsonObject r)
    {
        if (Find(r, out var secret) is { } missing)
        {
            return missing;
        }

        if (secret!.DeletedDate is not null)
        {
            return MarkedForDeletion();
        }

        var tags = ReadTags(r, out var tagError);
        if (tagError is not null)
        {
            return tagError.Value;
        }

        var merged = secret.Tags.ToList();
        foreach (var tag in tags)
        {
            merged.RemoveAll(t => t.Key == tag.Key);
            merged.Add(tag);
        }

        if (merged.Count > 50)
        {
            return Error("InvalidParameterException", "Too many tags: a secret holds at most 50.");
        }

        secret.Tags = merged;
        return Ok([]);
    }

    // ---- helpers ----

    private static bool Matches(StoredSecret s, List<(string Key, List<string> Values)> filters) =>
        filters.All(f => f.Values.Any(v =>
        {
            var negate = v.StartsWith('!');
            var value = negate ? v[1..] : v;
            var hit = f.Key switch
            {
                "name" => s.Name.StartsWith(value, StringComparison.Ordinal),
                "tag-key" => s.Tags.Any(t => t.Key.StartsWith(value, StringComparison.Ordinal)),
                "tag-value" => s.Tags.Any(t => t.Value.StartsWith(value, StringComparison.Ordinal)),
                "description" => (s.Description ?? string.Empty).StartsWith(value, StringComparison.OrdinalIgnoreCase),
                "all" => s.Name.Contains(value, StringComparison.OrdinalIgnoreCase)
                         || (s.Description ?? string.Empty).Contains(value, StringComparison.OrdinalIgnoreCase)
                         || s.Tags.Any(t => t.Key.Contains(value, StringComparison.OrdinalIgnoreCase) || t.Value.Contains(value, StringComparison.OrdinalIgnoreCase)),
                _ => false,
            };
            return negate ? !hit : hit;
        }));

    private JsonObject Describe(StoredSecret s)
    {
        var o = new JsonObject
        {
            ["ARN"] = s.Arn,
            ["Name"] = s.Name,
            ["Description"] = s.Description,
            ["Tags"] = new JsonArray(s.Tags.Select(t => (JsonNode)new JsonObject { ["Key"] = t.Key, ["Value"] = t.Value }).ToArray()),
            ["CreatedDate"] = Epoch(s.Created),
            ["LastChangedDate"] = Epoch(s.LastChanged),
            ["SecretVersionsToStages"] = new JsonObject(s.Versions.Select(v =>
                new KeyValuePair<string, JsonNode?>(v.Id, new JsonArray(v.Stages.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray())))),
        };
        if (s.KmsKeyId is not null)
        {
            o["KmsKeyId"] = s.KmsKeyId;
        }

        if (s.DeletedDate is { } deleted)
        {
            o["DeletedDate"] = Epoch(deleted);
        }

        return o;
    }

    private void NewVersion(StoredSecret secret, string id, string value)
    {
        foreach (var v in secret.Versions)
        {
            v.Stages.Remove("AWSPREVIOUS");
        }

        if (secret.Current is { } current)
        {
            current.Stages.Remove("AWSCURRENT");
            current.Stages.Add("AWSPREVIOUS");
        }

        // Versions left without a staging label are deprecated and removed by AWS in the background.
        secret.Versions.RemoveAll(v => v.Stages.Count == 0);
        secret.Versions.Add(new StoredVersion(id, value, Now) { Stages = ["AWSCURRENT"] });
        secret.LastChanged = Now;
    }

    private (int, JsonObject)? CheckValue(JsonObject r)
    {
        if (r["SecretString"] is not null && r["SecretBinary"] is not null)
        {
            return Error("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.");
        }

        if (Str(r, "SecretString") is { } value && Encoding.UTF8.GetByteCount(value) > SecretStringMaxBytes)
        {
            // The value itself never appears in the message, as AWS marks SecretString sensitive.
            return Error("ValidationException", "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536");
        }

        return null;
    }

    private static List<KeyValuePair<string, string>> ReadTags(JsonObject r, out (int, JsonObject)? error)
    {
        error = null;
        var tags = new List<KeyValuePair<string, string>>();
        if (r["Tags"] is not JsonArray array)
        {
            return tags;
        }

        foreach (var t in array.OfType<JsonObject>())
        {
            var key = Str(t, "Key") ?? string.Empty;
            var value = Str(t, "Value") ?? string.Empty;
            if (key.Length is < 1 or > 128 || value.Length > 256)
            {
                error = Error("ValidationException", "1 validation error detected: tag key must be 1-128 and value 0-256 characters");
                return tags;
            }

            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase) || !TagChars(key) || !TagChars(value))
            {
                error = Error("InvalidParameterException", "Tag keys and values may hold letters, digits, spaces and + - = . _ : / @, and keys must not start with aws:.");
                return tags;
            }

            if (tags.Any(x => x.Key == key))
            {
                error = Error("InvalidParameterException", "Duplicate tag key.");
                return tags;
            }

            tags.Add(new(key, value));
        }

        if (tags.Count > 50)
        {
            error = Error("InvalidParameterException", "Too many tags: a secret holds at most 50.");
        }

        return tags;
    }

    private static bool TagChars(string s) => s.All(c => char.IsLetterOrDigit(c) || c is ' ' or '+' or '-' or '=' or '.' or '_' or ':' or '/' or '@');

    private (int, JsonObject)? Find(JsonObject r, out StoredSecret? secret)
    {
        secret = Resolve(Str(r, "SecretId"));
        return secret is null ? Error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.") : null;
    }

    private StoredSecret? Resolve(string? id)
    {
        if (id is null)
        {
            return null;
        }

        if (_secrets.TryGetValue(id, out var byName))
        {
            return byName;
        }

        return _order.FirstOrDefault(s => s.Arn == id);
    }

    private void Purge()
    {
        var now = Now;
        foreach (var s in _order.Where(s => s.PurgeAt is { } at && at <= now).ToList())
        {
            _order.Remove(s);
            _secrets.Remove(s.Name);
        }
    }

    private Fault? TakeBreak(string operation)
    {
        lock (_lock)
        {
            if (_break is not { } b || b.Operation != operation)
            {
                return null;
            }

            if (b.Successes > 0)
            {
                _break = b with { Successes = b.Successes - 1 };
                return null;
            }

            return new Fault(operation, b.Status, b.Type);
        }
    }

    private Fault? TakeFault(string operation)
    {
        // Faults for other operations stay queued in order; take the first one that applies.
        var kept = new List<Fault>();
        Fault? taken = null;
        while (_faults.TryDequeue(out var f))
        {
            if (taken is null && (f.Operation is null || f.Operation == operation))
            {
                taken = f;
            }
            else
            {
                kept.Add(f);
            }
        }

        foreach (var f in kept)
        {
            _faults.Enqueue(f);
        }

        return taken;
    }

    private static (int, JsonObject) MarkedForDeletion() =>
        Error("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.");

    private static (int, JsonObject) Ok(JsonObject o) => (200, o);

    private static (int, JsonObject) Error(string type, string message, int status = 400) =>
        (status, new JsonObject { ["__type"] = type, ["message"] = message });

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static double Epoch(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;

    private static string Arn(string name) =>
        $"arn:aws:secretsmanager:{Region}:{AccountId}:secret:{name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    private static string WriteToken(int offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes("offset:" + offset.ToString(CultureInfo.InvariantCulture)));

    private static bool TryReadToken(string token, out int offset)
    {
        offset = 0;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return text.StartsWith("offset:", StringComparison.Ordinal) && int.TryParse(text[7..], NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // ---- SigV4 verification, independent of the provider's signer ----

    private (int, JsonObject)? VerifySignature(HttpContext http, byte[] body)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            return Error("MissingAuthenticationTokenException", "Missing Authentication Token");
        }

        var m = Regex.Match(authorization,
            @"^AWS4-HMAC-SHA256 Credential=(?<key>[^/]+)/(?<date>\d{8})/(?<region>[^/]+)/(?<service>[^/]+)/aws4_request, ?SignedHeaders=(?<signed>[a-z0-9\-;]+), ?Signature=(?<sig>[0-9a-f]{64})$",
            RegexOptions.CultureInvariant);
        if (!m.Success)
        {
            return Error("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.");
        }

        if (!_keys.TryGetValue(m.Groups["key"].Value, out var secretKey))
        {
            return Error("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var token = http.Request.Headers["X-Amz-Security-Token"].ToString();
        if ((RequiredSessionToken ?? string.Empty) != token)
        {
            return Error("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var amzDate = http.Request.Headers["X-Amz-Date"].ToString();
        if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return Error("IncompleteSignatureException", "X-Amz-Date is missing or malformed.");
        }

        if ((DateTime.UtcNow - signedAt).Duration() > TimeSpan.FromMinutes(15))
        {
            return Error("InvalidSignatureException", $"Signature expired: {amzDate} is now earlier than the allowed window.");
        }

        var signed = m.Groups["signed"].Value.Split(';');
        if (m.Groups["date"].Value != amzDate[..8] || m.Groups["region"].Value != Region || m.Groups["service"].Value != "secretsmanager"
            || !signed.Contains("host") || !signed.Contains("x-amz-date"))
        {
            return Error("InvalidSignatureException", "Credential should be scoped to a valid region and service, and sign host and x-amz-date.");
        }

        // The canonical request, rebuilt from what arrived.
        var raw = http.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var path = raw.Split('?')[0];
        var canonical = new StringBuilder();
        canonical.Append(http.Request.Method).Append('\n');
        canonical.Append(path.Length == 0 ? "/" : path).Append('\n');
        canonical.Append('\n'); // no query string on this API
        foreach (var name in signed)
        {
            var value = name == "host" ? http.Request.Host.Value : string.Join(',', http.Request.Headers[name].Select(v => v ?? string.Empty));
            canonical.Append(name).Append(':').Append(Regex.Replace((value ?? string.Empty).Trim(), " +", " ")).Append('\n');
        }

        canonical.Append('\n').Append(string.Join(';', signed)).Append('\n');
        canonical.Append(Convert.ToHexStringLower(SHA256.HashData(body)));

        var expected = AWS4Signer.ComputeSignature(new ImmutableCredentials(m.Groups["key"].Value, secretKey, null), Region,
            signedAt, "secretsmanager", string.Join(';', signed), canonical.ToString()).Signature;
        return expected == m.Groups["sig"].Value
            ? null
            : Error("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
    }

    private sealed record Fault(string? Operation, int Status, string Type);

    private sealed class TokenBucket(double rate)
    {
        private readonly Lock _lock = new();
        private readonly double _rate = rate;
        private double _tokens = rate;
        private long _last = System.Diagnostics.Stopwatch.GetTimestamp();

        public bool TryTake()
        {
            lock (_lock)
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                _tokens = Math.Min(_rate, _tokens + (System.Diagnostics.Stopwatch.GetElapsedTime(_last, now).TotalSeconds * _rate));
                _last = now;
                if (_tokens < 1)
                {
                    return false;
                }

                _tokens -= 1;
                return true;
            }
        }
    }

    private sealed class StoredSecret(string name, string arn, DateTimeOffset created)
    {
        public string Name { get; } = name;
        public string Arn { get; } = arn;
        public DateTimeOffset Created { get; } = created;
        public DateTimeOffset LastChanged { get; set; } = created;
        public string? Description { get; init; }
        public string? KmsKeyId { get; init; }
        public List<KeyValuePair<string, string>> Tags { get; set; } = [];
        public List<StoredVersion> Versions { get; } = [];
        public DateTimeOffset? DeletedDate { get; set; }
        public DateTimeOffset? PurgeAt { get; set; }
        public bool ForceDeleted { get; set; }
        public StoredVersion? Current => Versions.FirstOrDefault(v => v.Stages.Contains("AWSCURRENT"));
    }

    private sealed class StoredVersion(string id, string? secretString, DateTimeOffset created)
    {
        public string Id { get; } = id;
        public string? SecretString { get; } = secretString;
        public DateTimeOffset Created { get; } = created;
        public List<string> Stages { get; init; } = [];
    }
}
