using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentScope.Providers.AzureKeyVault;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Testing.Emulators.AzureKeyVault;

/// <summary>
/// An in-process emulation of the Azure Key Vault secrets data plane, on a real HTTPS Kestrel server on 127.0.0.1
/// (free port, certificate made by <see cref="TestCertificate"/>), driven by the real <c>SecretClient</c>.
/// It follows these documented behaviours (REST reference, "Azure Key Vault secrets" api-version 7.x / 2025-07-01):
/// <list type="bullet">
/// <item>Authentication (Key Vault "Authentication" and the SDK's challenge-based policy): a request without a bearer
///   token is answered 401 with <c>WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}",
///   resource="https://vault.azure.net"</c>; the client then gets a token for <c>https://vault.azure.net/.default</c> and
///   sends the request again. A token other than the accepted one is 401 too.</item>
/// <item><c>api-version</c> is a required query parameter on every operation (400 BadParameter without it).</item>
/// <item>Names: <c>^[0-9a-zA-Z-]+$</c>, 1-127 characters (Set Secret URI parameters; "About Key Vault secrets"),
///   compared case-insensitively ("Object identifiers": names are case-insensitive); otherwise 400 BadParameter.</item>
/// <item>Set Secret (PUT /secrets/{name}) adds a version; the value is at most 25,600 characters and an object carries at
///   most 15 tags, tag names up to 512 and values up to 256 characters, content type up to 255 ("About Key Vault secrets",
///   "Azure Key Vault service limits"); otherwise 400 BadParameter.</item>
/// <item>Get Secret (GET /secrets/{name}/{version?}) returns the value; an unknown name is 404
///   <c>{"error":{"code":"SecretNotFound",...}}</c>; a disabled secret is 403 (innererror SecretDisabled).</item>
/// <item>Get Secrets (GET /secrets) returns properties and tags, never values, at most 25 per page (maxresults 1-25,
///   default 25) with an absolute <c>nextLink</c> carrying a <c>$skiptoken</c>; null on the last page.</item>
/// <item>Delete Secret (DELETE /secrets/{name}) with soft delete (on by default, "Key Vault soft-delete overview"):
///   answers the DeletedSecretBundle with <c>recoveryId</c> at once, but the deletion completes asynchronously: for
///   <see cref="DeletionDelay"/> Get Deleted Secret is 404 and Purge is 409 "Secret is currently being deleted" — the
///   SDK's DeleteSecretOperation polls Get Deleted Secret until 200.</item>
/// <item>Deleted secrets are listed under GET /deletedsecrets and read at GET /deletedsecrets/{name}.</item>
/// <item>Set on a soft-deleted name is 409 Conflict, innererror ObjectIsDeletedButRecoverable, "Secret {name} is currently
///   in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or
///   purged."; while it is still being deleted or purged, 409 with innererror ObjectIsBeingDeleted, "Secret {name} is
///   currently being deleted and cannot be re-created; retry later." (both as reported in Azure SDK issue threads).</item>
/// <item>Purge Deleted Secret (DELETE /deletedsecrets/{name}) is 204; the name stays blocked for <see cref="PurgeDelay"/>
///   afterwards (ObjectIsBeingDeleted, azure-sdk-for-net #26027 / #34322). With purge protection it is 403 'Operation
///   "purge" is not allowed because purge protection is enabled for this vault...'.</item>
/// <item>Recover Deleted Secret (POST /deletedsecrets/{name}/recover) answers the SecretBundle; the secret is readable
///   again after <see cref="RecoveryDelay"/> (the SDK's RecoverDeletedSecretOperation polls Get Secret until 200).</item>
/// <item>Throttling ("Azure Key Vault throttling guidance"): 429 with <c>Retry-After</c> in seconds, injected by
///   <see cref="KeyVaultFaults"/> (also 5xx, 403 for a missing RBAC data action, latency, a request-rate limit).</item>
/// <item>Beside the vault, the token endpoint of an App Service managed identity ("Managed identities for App Service",
///   REST endpoint reference): <c>GET {IDENTITY_ENDPOINT}?resource=...&amp;api-version=2019-08-01</c> with
///   <c>X-IDENTITY-HEADER: {IDENTITY_HEADER}</c> answers <c>{"access_token","expires_on","resource","token_type","client_id"}</c>,
///   so <c>DefaultAzureCredential</c> in another process can get <see cref="AcceptedToken"/> (see <see cref="ManagedIdentityEndpoint"/>).</item>
/// </list>
/// Error bodies are the KeyVaultError shape <c>{"error":{"code","message","innererror":{"code"}}}</c>; message texts not
/// quoted above are modelled, not copied.
/// </summary>
public sealed class KeyVaultEmulator : IAsyncDisposable
{
    public const string AcceptedToken = "emulator-access-token";
    public const string TenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const int MaxValueChars = 25_600;
    public const int MaxTags = 15;
    public const int MaxPageSize = 25;

    /// <summary>The <c>IDENTITY_HEADER</c> secret the managed identity endpoint expects in <c>X-IDENTITY-HEADER</c>.</summary>
    public const string IdentityHeader = "emulator-identity-header";

    private const string ManagedIdentityPath = "/msi/token";

    private static readonly Regex NamePattern = new("^[0-9a-zA-Z-]{1,127}$", RegexOptions.CultureInvariant);
    private static readonly Regex ApiVersionPattern = new(@"^(\d+\.\d+(-preview(\.\d+)?)?|\d{4}-\d{2}-\d{2}(-preview)?)$", RegexOptions.CultureInvariant);

    private readonly WebApplication _app;
    private readonly SocketsHttpHandler _handler;
    private readonly object _gate = new();
    private readonly Dictionary<string, SecretState> _live = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DeletedState> _deleted = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DateTimeOffset> _purging = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (SecretState Secret, DateTimeOffset ReadyAt)> _recovering = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, byte> _apiVersions = new();
    private readonly ConcurrentQueue<Exception> _bugs = new();
    private int _managedIdentityTokens;

    private KeyVaultEmulator(WebApplication app, Uri vaultUri)
    {
        _app = app;
        VaultUri = vaultUri;
        _handler = TestCertificate.CreateTrustingHandler();
    }

    /// <summary>The vault's base URI, e.g. https://127.0.0.1:41234/.</summary>
    public Uri VaultUri { get; }

    /// <summary>The managed identity token endpoint, for <c>IDENTITY_ENDPOINT</c> (with <see cref="IdentityHeader"/> as <c>IDENTITY_HEADER</c>).</summary>
    public Uri ManagedIdentityEndpoint => new(VaultUri, ManagedIdentityPath);

    /// <summary>How many tokens the managed identity endpoint issued.</summary>
    public int ManagedIdentityTokensIssued => Volatile.Read(ref _managedIdentityTokens);

        /// <summary>Fault injection switches.</summary>
    public KeyVaultFaults Faults { get; } = new();

    /// <summary>Soft delete on (the default for every vault since 2020).</summary>
    public bool SoftDelete { get; set; } = true;

    /// <summary>Purge protection: purge is refused with 403.</summary>
    public bool PurgeProtection { get; set; }

    /// <summary>How long a DELETE takes to complete (Get Deleted Secret 404, purge 409 meanwhile).</summary>
    public TimeSpan DeletionDelay { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>How long a purged name stays unusable.</summary>
    public TimeSpan PurgeDelay { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>How long a recovery takes before the secret is readable.</summary>
    public TimeSpan RecoveryDelay { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>Every request served (after the challenge), in order.</summary>
    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    /// <summary>The api-version values the client sent.</summary>
    public IReadOnlyCollection<string> ApiVersions => _apiVersions.Keys.ToList();

    public static async Task<KeyVaultEmulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(TestCertificate.Server)));
        var app = builder.Build();
        KeyVaultEmulator? emulator = null;
        app.Run(async context =>
        {
            try
            {
                await emulator!.HandleAsync(context);
            }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                // An emulator bug, not a modelled fault: make it visible to the test instead of a bare 500.
                emulator!._bugs.Enqueue(e);
                throw;
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        emulator = new KeyVaultEmulator(app, new Uri(address.TrimEnd('/') + "/"));
        return emulator;
    }

    /// <summary>Options for the provider under test: this vault, a stub credential, the trusting transport, fast retries and polling.</summary>
    public AzureKeyVaultOptions CreateOptions(StubTokenCredential? credential = null, string prefix = "agentscope") => new()
    {
        VaultUri = VaultUri,
        Credential = credential ?? new StubTokenCredential(AcceptedToken),
        NamePrefix = prefix,
        DeletePollingInterval = TimeSpan.FromMilliseconds(15),
        SoftDeleteTimeout = TimeSpan.FromSeconds(10),
        Retry = new AzureKeyVaultRetryOptions { MaxRetries = 3, Delay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(200), NetworkTimeout = TimeSpan.FromSeconds(20) },
        ConfigureClient = ConfigureClient,
    };

    /// <summary>Points an SDK client at this emulator: trusting transport, and the challenge resource (vault.azure.net) accepted for 127.0.0.1.</summary>
    public void ConfigureClient(Azure.Security.KeyVault.Secrets.SecretClientOptions options)
    {
        options.DisableChallengeResourceVerification = true;
        options.Transport = new HttpClientTransport(_handler);
    }

    /// <summary>A raw SDK client on this vault, for arranging state as another application would.</summary>
    public Azure.Security.KeyVault.Secrets.SecretClient CreateClient()
    {
        var options = new Azure.Security.KeyVault.Secrets.SecretClientOptions();
        options.Retry.MaxRetries = 0;
        ConfigureClient(options);
        return new Azure.Security.KeyVault.Secrets.SecretClient(VaultUri, new StubTokenCredential(AcceptedToken), options);
    }

    /// <summary>Names of live secrets.</summary>
    public IReadOnlyList<string> LiveNames()
    {
        lock (_gate)
        {
            Settle(DateTimeOffset.UtcNow);
            return _live.Values.Select(s => s.Name).ToList();
        }
    }

    /// <summary>Names of soft-deleted secrets (being deleted included).</summary>
    public IReadOnlyList<string> DeletedNames()
    {
        lock (_gate)
        {
            Settle(DateTimeOffset.UtcNow);
            return _deleted.Values.Select(d => d.Secret.Name).ToList();
        }
    }

    /// <summary>Disables (or enables) a live secret, as an operator could in the portal.</summary>
    public void SetEnabled(string name, bool enabled)
    {
        lock (_gate)
        {
            _live[name].Latest.Enabled = enabled;
        }
    }

    /// <summary>Exceptions the emulator itself threw (should stay empty).</summary>
    public IReadOnlyCollection<Exception> Bugs => _bugs;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _handler.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.Equals(ManagedIdentityPath, StringComparison.OrdinalIgnoreCase))
        {
            await ManagedIdentityTokenAsync(context);
            return;
        }

        var segments = request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var route = Route(request.Method, segments);

        if (Faults.Latency > TimeSpan.Zero)
        {
            await Task.Delay(Faults.Latency);
        }

        // The challenge comes first: the SDK's first request carries no token (and no body).
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            await ChallengeAsync(context, "AKV10000: Request is missing a Bearer or PoP token.");
            return;
        }

        if (authorization["Bearer ".Length..] != AcceptedToken)
        {
            await ChallengeAsync(context, "AKV10022: Invalid audience or token.");
            Record(request, route, 401);
            return;
        }

        var apiVersion = request.Query["api-version"].ToString();
        if (string.IsNullOrEmpty(apiVersion) || !ApiVersionPattern.IsMatch(apiVersion))
        {
            await ErrorAsync(context, 400, "BadParameter", "The request URI contains an invalid or missing api-version.");
            Record(request, route, 400);
            return;
        }

        _apiVersions.TryAdd(apiVersion, 0);

        var emulated = new EmulatedRequest(request.Method, request.Path.Value!, route.Operation, route.DataAction);
        if (Faults.TryTakeFault(emulated, out var fault))
        {
            if (fault.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            var (code, message) = fault.Status switch
            {
                429 => ("Throttled", "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"),
                503 => ("ServiceUnavailable", "The service is temporarily unavailable."),
                _ => ("InternalServerError", "An unexpected error occurred."),
            };
            await ErrorAsync(context, fault.Status, code, message);
            Record(request, route, fault.Status);
            return;
        }

        if (route.DataAction is not null && Faults.IsForbidden(route.DataAction))
        {
            await ErrorAsync(context, 403, "Forbidden",
                $"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nAction: '{route.DataAction}'\r\nResource: '{request.Path.Value}'",
                "ForbiddenByRbac");
            Record(request, route, 403);
            return;
        }

        var status = await DispatchAsync(context, route, segments);
        Record(request, route, status);
    }

    private static RouteInfo Route(string method, string[] s)
    {
        if (s.Length >= 1 && s[0].Equals("secrets", StringComparison.OrdinalIgnoreCase))
        {
            return (method, s.Length) switch
            {
                ("GET", 1) => new RouteInfo("GetSecrets", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"),
                ("PUT", 2) => new RouteInfo("SetSecret", "Microsoft.KeyVault/vaults/secrets/setSecret/action"),
                ("GET", 2 or 3) => new RouteInfo("GetSecret", "Microsoft.KeyVault/vaults/secrets/getSecret/action"),
                ("DELETE", 2) => new RouteInfo("DeleteSecret", "Microsoft.KeyVault/vaults/secrets/delete"),
                _ => new RouteInfo("Unsupported", null),
            };
        }

        if (s.Length >= 1 && s[0].Equals("deletedsecrets", StringComparison.OrdinalIgnoreCase))
        {
            return (method, s.Length) switch
            {
                ("GET", 1) => new RouteInfo("GetDeletedSecrets", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"),
                ("GET", 2) => new RouteInfo("GetDeletedSecret", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"),
                ("DELETE", 2) => new RouteInfo("PurgeDeletedSecret", "Microsoft.KeyVault/vaults/secrets/purge/action"),
                ("POST", 3) when s[2].Equals("recover", StringComparison.OrdinalIgnoreCase) =>
                    new RouteInfo("RecoverDeletedSecret", "Microsoft.KeyVault/vaults/secrets/recover/action"),
                _ => new RouteInfo("Unsupported", null),
            };
        }

        return new RouteInfo("Unsupported", null);
    }

    private async Task<int> DispatchAsync(HttpContext context, RouteInfo route, string[] segments)
    {
        var name = segments.Length >= 2 ? Uri.UnescapeDataString(segments[1]) : null;
        if (name is not null && !NamePattern.IsMatch(name))
        {
            return await ErrorAsync(context, 400, "BadParameter", $"The request URI contains an invalid name: {name}");
        }

        switch (route.Operation)
        {
            case "SetSecret":
                return await SetAsync(context, name!);
            case "GetSecret":
                return await GetAsync(context, name!, segments.Length == 3 ? segments[2] : null);
            case "GetSecrets":
                return await ListAsync(context, deleted: false);
            case "DeleteSecret":
                return await DeleteAsync(context, name!);
            case "GetDeletedSecrets":
                return await ListAsync(context, deleted: true);
            case "GetDeletedSecret":
                return await GetDeletedAsync(context, name!);
            case "PurgeDeletedSecret":
                return await PurgeAsync(context, name!);
            case "RecoverDeletedSecret":
                return await RecoverAsync(context, name!);
            default:
                return await ErrorAsync(context, 405, "MethodNotAllowed", "The operation is not supported by this emulator.");
        }
    }

    private async Task<int> SetAsync(HttpContext context, string name)
    {
        JsonObject body;
        try
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            body = JsonNode.Parse(await reader.ReadToEndAsync()) as JsonObject ?? throw new JsonException();
        }
        catch (JsonException)
        {
            return await ErrorAsync(context, 400, "BadParameter", "The request body is not valid JSON.");
        }

        if (body["value"] is not JsonValue valueNode || !valueNode.TryGetValue<string>(out var value))
        {
            return await ErrorAsync(context, 400, "BadParameter", "Property 'value' is required.");
        }

        if (value.Length > MaxValueChars)
        {
            return await ErrorAsync(context, 400, "BadParameter", $"Secret is beyond the maximum permitted length of {MaxValueChars} characters.");
        }

        var contentType = body["contentType"]?.GetValue<string>();
        if (contentType is { Length: > 255 })
        {
            return await ErrorAsync(context, 400, "BadParameter", "Content type is too long (255 characters at most).");
        }

        Dictionary<string, string>? tags = null;
        if (body["tags"] is JsonObject tagObject)
        {
            if (tagObject.Count > MaxTags)
            {
                return await ErrorAsync(context, 400, "BadParameter", $"The number of tags ({tagObject.Count}) exceeds the maximum of {MaxTags}.");
            }

            tags = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (tagName, tagValue) in tagObject)
            {
                var text = tagValue?.GetValue<string>() ?? string.Empty;
                if (tagName.Length > 512 || text.Length > 256)
                {
                    return await ErrorAsync(context, 400, "BadParameter", "A tag name is limited to 512 characters and a tag value to 256.");
                }

                tags[tagName] = text;
            }
        }

        var enabled = body["attributes"]?["enabled"]?.GetValue<bool>() ?? true;
        SecretState? secret = null;
        SecretVersion? version = null;
        (string Inner, string Message)? conflict = null;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            Settle(now);
            if (_deleted.TryGetValue(name, out var deleted))
            {
                conflict = now < deleted.VisibleAt
                    ? ("ObjectIsBeingDeleted", $"Secret {name} is currently being deleted and cannot be re-created; retry later.")
                    : ("ObjectIsDeletedButRecoverable",
                        $"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.");
            }
            else if (_purging.ContainsKey(name))
            {
                conflict = ("ObjectIsBeingDeleted", $"Secret {name} is currently being deleted and cannot be re-created; retry later.");
            }
            else if (_recovering.ContainsKey(name))
            {
                conflict = ("ObjectIsBeingRecovered", $"Secret {name} is currently being recovered; retry later.");
            }
            else
            {
                if (!_live.TryGetValue(name, out secret))
                {
                    secret = new SecretState(name);
                    _live[name] = secret;
                }

                var unix = now.ToUnixTimeSeconds();
                version = new SecretVersion(Guid.NewGuid().ToString("N"), value, contentType, tags, enabled, unix, unix);
                secret.Versions.Add(version);
            }
        }

        return conflict is { } c
            ? await ErrorAsync(context, 409, "Conflict", c.Message, c.Inner)
            : await WriteAsync(context, 200, Bundle(context, secret!, version!, includeValue: true));
    }

    private async Task<int> GetAsync(HttpContext context, string name, string? versionId)
    {
        SecretState? secret;
        SecretVersion? version = null;
        lock (_gate)
        {
            Settle(DateTimeOffset.UtcNow);
            if (_live.TryGetValue(name, out secret))
            {
                version = string.IsNullOrEmpty(versionId) ? secret.Latest : secret.Versions.FirstOrDefault(v => v.Id == versionId);
            }
        }

        if (secret is null || version is null)
        {
            return await ErrorAsync(context, 404, "SecretNotFound",
                $"A secret with (name/id) {name}{(versionId is null ? string.Empty : "/" + versionId)} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182");
        }

        if (!version.Enabled)
        {
            return await ErrorAsync(context, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
        }

        return await WriteAsync(context, 200, Bundle(context, secret, version, includeValue: true));
    }

    private async Task<int> ListAsync(HttpContext context, bool deleted)
    {
        var query = context.Request.Query;
        var pageSize = MaxPageSize;
        if (query.TryGetValue("maxresults", out var maxText))
        {
            if (!int.TryParse(maxText, out pageSize) || pageSize is < 1 or > MaxPageSize)
            {
                return await ErrorAsync(context, 400, "BadParameter", $"maxresults must be between 1 and {MaxPageSize}.");
            }
        }

        string? after = null;
        if (query.TryGetValue("$skiptoken", out var token) && !string.IsNullOrEmpty(token))
        {
            after = Encoding.UTF8.GetString(Convert.FromBase64String(token.ToString().Replace('-', '+').Replace('_', '/').PadRight((token.ToString().Length + 3) / 4 * 4, '=')));
        }

        List<JsonObject> items;
        bool more;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            Settle(now);
            IEnumerable<(string Name, JsonObject Item)> all = deleted
                ? _deleted.Values.Where(d => now >= d.VisibleAt).Select(d => (d.Secret.Name, DeletedBundle(context, d, isItem: true)))
                : _live.Values.Select(s => (s.Name, Item(context, s)));
            var ordered = all.OrderBy(x => x.Name, StringComparer.OrdinalIgnoreCase)
                .Where(x => after is null || StringComparer.OrdinalIgnoreCase.Compare(x.Name, after) > 0)
                .ToList();
            more = ordered.Count > pageSize;
            var page = ordered.Take(pageSize).ToList();
            items = page.Select(x => x.Item).ToList();
            after = page.Count > 0 ? page[^1].Name : after;
        }

        var result = new JsonObject { ["value"] = new JsonArray(items.ToArray<JsonNode?>()) };
        if (more)
        {
            var skip = Convert.ToBase64String(Encoding.UTF8.GetBytes(after!)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            result["nextLink"] = $"{BaseUrl(context)}/{(deleted ? "deletedsecrets" : "secrets")}?api-version={query["api-version"]}&$skiptoken={skip}&maxresults={pageSize}";
        }
        else
        {
            result["nextLink"] = null;
        }

        return await WriteAsync(context, 200, result);
    }

    private async Task<int> DeleteAsync(HttpContext context, string name)
    {
        DeletedState state;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            Settle(now);
            if (!_live.Remove(name, out var secret))
            {
                state = null!;
            }
            else
            {
                state = new DeletedState(secret, now, now + DeletionDelay, now.AddDays(90).ToUnixTimeSeconds());
                if (SoftDelete)
                {
                    _deleted[name] = state;
                }
            }
        }

        if (state is null)
        {
            return await ErrorAsync(context, 404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.");
        }

        var bundle = DeletedBundle(context, state, isItem: false);
        if (!SoftDelete)
        {
            bundle.Remove("recoveryId");
            bundle.Remove("deletedDate");
            bundle.Remove("scheduledPurgeDate");
        }

        return await WriteAsync(context, 200, bundle);
    }

    private async Task<int> GetDeletedAsync(HttpContext context, string name)
    {
        DeletedState? state;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            Settle(now);
            state = _deleted.TryGetValue(name, out var d) && now >= d.VisibleAt ? d : null;
        }

        return state is null
            ? await ErrorAsync(context, 404, "SecretNotFound", $"Deleted Secret not found: {name}")
            : await WriteAsync(context, 200, DeletedBundle(context, state, isItem: false));
    }

    private async Task<int> PurgeAsync(HttpContext context, string name)
    {
        int status;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            Settle(now);
            if (!_deleted.TryGetValue(name, out var d))
            {
                status = 404;
            }
            else if (now < d.VisibleAt)
            {
                status = 409;
            }
            else if (PurgeProtection)
            {
                status = 403;
            }
            else
            {
                _deleted.Remove(name);
                _purging[name] = now + PurgeDelay;
                status = 204;
            }
        }

        switch (status)
        {
            case 404:
                return await ErrorAsync(context, 404, "SecretNotFound", $"Deleted Secret not found: {name}");
            case 409:
                return await ErrorAsync(context, 409, "Conflict", "Secret is currently being deleted.", "ObjectIsBeingDeleted");
            case 403:
                return await ErrorAsync(context, 403, "Forbidden",
                    "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.",
                    "PurgeProtectionEnabled");
            default:
                context.Response.StatusCode = 204;
                return 204;
        }
    }

    private async Task<int> RecoverAsync(HttpContext context, string name)
    {
        DeletedState? state = null;
        var status = 200;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            Settle(now);
            if (!_deleted.TryGetValue(name, out var d))
            {
                status = 404;
            }
            else if (now < d.VisibleAt)
            {
                status = 409;
            }
            else
            {
                _deleted.Remove(name);
                _recovering[name] = (d.Secret, now + RecoveryDelay);
                state = d;
            }
        }

        return status switch
        {
            404 => await ErrorAsync(context, 404, "SecretNotFound", $"Deleted Secret not found: {name}"),
            409 => await ErrorAsync(context, 409, "Conflict", "Secret is currently being deleted.", "ObjectIsBeingDeleted"),
            _ => await WriteAsync(context, 200, Bundle(context, state!.Secret, state.Secret.Latest, includeValue: false)),
        };
    }

    private async Task ManagedIdentityTokenAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (context.Request.Headers["X-IDENTITY-HEADER"] != IdentityHeader || query["api-version"] != "2019-08-01" || string.IsNullOrEmpty(query["resource"]))
        {
            // The documented errors are not specified beyond "the request fails": modelled as 400.
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = "invalid_request", ["error_description"] = "X-IDENTITY-HEADER, api-version=2019-08-01 and resource are required" });
            return;
        }

        Interlocked.Increment(ref _managedIdentityTokens);
        await WriteAsync(context, 200, new JsonObject
        {
            ["access_token"] = AcceptedToken,
            ["expires_on"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["resource"] = query["resource"].ToString(),
            ["token_type"] = "Bearer",
            ["client_id"] = "00000000-0000-0000-0000-00000000e1a7",
        });
    }

    // Time-driven transitions: recoveries finish, purged names become free again.
    private void Settle(DateTimeOffset now)
    {
        foreach (var (name, (secret, readyAt)) in _recovering.ToList())
        {
            if (now >= readyAt)
            {
                _recovering.Remove(name);
                _live[name] = secret;
            }
        }

        foreach (var (name, until) in _purging.ToList())
        {
            if (now >= until)
            {
                _purging.Remove(name);
            }
        }
    }

    private string RecoveryLevel => !SoftDelete ? "Purgeable" : PurgeProtection ? "Recoverable" : "Recoverable+Purgeable";

    private JsonObject Attributes(SecretVersion v) => new()
    {
        ["enabled"] = v.Enabled,
        ["created"] = v.Created,
        ["updated"] = v.Updated,
        ["recoveryLevel"] = RecoveryLevel,
        ["recoverableDays"] = SoftDelete ? 90 : 0,
    };

    private static JsonObject? Tags(SecretVersion v)
    {
        if (v.Tags is null)
        {
            return null;
        }

        var tags = new JsonObject();
        foreach (var (k, value) in v.Tags)
        {
            tags[k] = value;
        }

        return tags;
    }

    private JsonObject Bundle(HttpContext context, SecretState s, SecretVersion v, bool includeValue)
    {
        var bundle = new JsonObject();
        if (includeValue)
        {
            bundle["value"] = v.Value;
        }

        bundle["id"] = $"{BaseUrl(context)}/secrets/{s.Name}/{v.Id}";
        if (v.ContentType is not null)
        {
            bundle["contentType"] = v.ContentType;
        }

        bundle["attributes"] = Attributes(v);
        if (Tags(v) is { } tags)
        {
            bundle["tags"] = tags;
        }

        return bundle;
    }

    private JsonObject Item(HttpContext context, SecretState s)
    {
        var v = s.Latest;
        var item = new JsonObject { ["id"] = $"{BaseUrl(context)}/secrets/{s.Name}", ["attributes"] = Attributes(v) };
        if (Tags(v) is { } tags)
        {
            item["tags"] = tags;
        }

        if (v.ContentType is not null)
        {
            item["contentType"] = v.ContentType;
        }

        return item;
    }

    private JsonObject DeletedBundle(HttpContext context, DeletedState d, bool isItem)
    {
        var bundle = isItem ? Item(context, d.Secret) : Bundle(context, d.Secret, d.Secret.Latest, includeValue: false);
        bundle["recoveryId"] = $"{BaseUrl(context)}/deletedsecrets/{d.Secret.Name}";
        bundle["deletedDate"] = d.DeletedAt.ToUnixTimeSeconds();
        bundle["scheduledPurgeDate"] = d.ScheduledPurge;
        return bundle;
    }

    private static string BaseUrl(HttpContext context) => $"https://{context.Request.Host}";

    private void Record(HttpRequest request, RouteInfo route, int status) =>
        _requests.Enqueue(new RecordedRequest(request.Method, request.Path.Value!, request.QueryString.Value ?? string.Empty, route.Operation, status, DateTimeOffset.UtcNow));

    private static async Task ChallengeAsync(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate =
            $"Bearer authorization=\"https://login.microsoftonline.com/{TenantId}\", resource=\"https://vault.azure.net\"";
        await ErrorAsync(context, 401, "Unauthorized", message);
    }

    private static Task<int> ErrorAsync(HttpContext context, int status, string code, string message, string? innerCode = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (innerCode is not null)
        {
            error["innererror"] = new JsonObject { ["code"] = innerCode };
        }

        return WriteAsync(context, status, new JsonObject { ["error"] = error });
    }

    private static async Task<int> WriteAsync(HttpContext context, int status, JsonObject body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
        return status;
    }

    private sealed record RouteInfo(string Operation, string? DataAction);

    private sealed class SecretState(string name)
    {
        public string Name { get; } = name;
        public List<SecretVersion> Versions { get; } = [];
        public SecretVersion Latest => Versions[^1];
    }

    private sealed class SecretVersion(string id, string value, string? contentType, Dictionary<string, string>? tags, bool enabled, long created, long updated)
    {
        public string Id { get; } = id;
        public string Value { get; } = value;
        public string? ContentType { get; } = contentType;
        public Dictionary<string, string>? Tags { get; } = tags;
        public bool Enabled { get; set; } = enabled;
        public long Created { get; } = created;
        public long Updated { get; } = updated;
    }

    private sealed record DeletedState(SecretState Secret, DateTimeOffset DeletedAt, DateTimeOffset VisibleAt, long ScheduledPurge);
}

/// <summary>One request the emulator served.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, string Operation, int Status, DateTimeOffset At);

/// <summary>What a fault rule sees of a request.</summary>
public sealed record EmulatedRequest(string Method, string Path, string Operation, string? DataAction);
