// An in-process emulation of the subset of HashiCorp Vault's HTTP API that the provider uses, served by Kestrel on
// 127.0.0.1 (a free port). It follows Vault's documentation (developer.hashicorp.com/vault/api-docs) and, where the docs
// are silent, the KV v2 plugin's source (hashicorp/vault-plugin-secrets-kv: path_data.go, path_metadata.go):
//
// - api-docs index: every route under /v1/; X-Vault-Token (or "Authorization: Bearer"); X-Vault-Namespace scopes the
//   request to a namespace (here: data, tokens and auth methods are separate per namespace, and a token works only in the
//   namespace that issued it and its children; a parent's policies are not modelled); LIST verb or GET ?list=true;
//   an empty LIST is 404 {"errors":[]}; every status >= 400 carries {"errors":[...]}; 503 while sealed; Retry-After
//   on 429.
// - secret/kv/kv-v2: GET data/:path -> {"data":{"data":{...},"metadata":{created_time, custom_metadata, deletion_time,
//   destroyed, version}}}, ?version=n; 404 {"errors":[]} when the key, or its version, does not exist (a metadata-only key
//   has no version; a soft-deleted or destroyed version answers 404 with its metadata). POST data/:path {"data":{...},
//   "options":{"cas":n}} -> {"data":{version, created_time, ...}}; cas 0 = only if absent; a mismatch is 400
//   "check-and-set parameter did not match the current version"; cas_required without cas is 400 "check-and-set
//   parameter required for this call"; 10 versions kept. DELETE data/:path soft-deletes the latest version.
//   GET metadata/:path -> current_version, oldest_version, created_time, updated_time, custom_metadata, versions;
//   POST metadata/:path creates the key if needed and replaces custom_metadata (204), validated as the plugin does:
//   at most 64 keys, key length 1..128 bytes, value length 1..512 bytes (400 "custom_metadata validation failed: ...").
//   DELETE metadata/:path destroys the key and every version (204, also when absent). LIST metadata/:path returns the
//   immediate children, folders suffixed with '/', including metadata-only keys.
// - ACL policies: POST to a key that does not exist needs "create", to one that does "update" (the existence check);
//   GET needs "read", DELETE "delete", LIST "list". A denied request is 403 {"errors":["permission denied"]}.
// - Tokens: an expired or unknown token is 403; Vault 1.15+ says "permission denied" and "invalid token" (multierror),
//   older versions only "permission denied" (LegacyPermissionErrors). auth/token/lookup-self -> data.ttl, renewable,
//   policies; auth/token/renew-self -> auth.lease_duration (capped at the token's max TTL), 400 when not renewable.
// - auth/approle: POST auth/<mount>/login {"role_id","secret_id"} -> {"auth":{"client_token","lease_duration",
//   "renewable",...}}; wrong credentials 400 "invalid role or secret ID".
// - auth/kubernetes: POST auth/<mount>/login {"role","jwt"} -> same envelope; unknown role 400, rejected JWT 403.
// - system/health: 200 active, 429 standby (200 with standbyok=true), 503 sealed, with the documented JSON body.
//
// - concepts/resource-quotas: a rate limit quota answers 429 {"errors":["request path \"...\": rate limit quota exceeded"]}
//   to requests above its rate; sys/health is exempt (the default rate_limit_exempt_paths); with
//   enable_rate_limit_response_headers (sys/quotas/config) the answer also carries Retry-After, X-Ratelimit-Limit,
//   X-Ratelimit-Remaining and X-Ratelimit-Reset. (The rate here is a token bucket holding one second's worth.)
//
// Test switches: InjectFaults (N answers of 429/412/5xx, with Retry-After), DropConnections, SetRateLimit, Sealed, Standby,
// Latency, Deny (policy-denied paths), ExpireToken / ExpireAllTokens, CasRequired, and a log of every request received.

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Testing.Emulators.HashiCorpVault;

/// <summary>A request as the server saw it.</summary>
public sealed record RecordedRequest(string Method, string Path, string? Namespace, string? Token, bool VaultRequestHeader);

/// <summary>A faithful-enough Vault for tests: see the comment at the top of the file for what it follows.</summary>
public sealed class VaultTestServer : IAsyncDisposable
{
    private const string RootNs = "";

    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private readonly WebApplication _app;
    private readonly Dictionary<(string Ns, string Mount), SortedDictionary<string, KvKey>> _kv = [];
    private readonly Dictionary<string, TokenEntry> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Ns, string Mount), Dictionary<string, AppRole>> _appRoles = [];
    private readonly Dictionary<(string Ns, string Mount), Dictionary<string, KubernetesRole>> _k8sRoles = [];
    private readonly List<Fault> _faults = [];
    private readonly List<(string Glob, string Capability)> _denied = [];
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private RateLimit? _rateLimit;
    private int _throttled;

    private VaultTestServer(WebApplication app, TimeProvider time)
    {
        _app = app;
        _time = time;
        AddMount("secret");
        RootToken = IssueToken(RootNs, null, null, renewable: false, "root", ["root"]).Id;
    }

    /// <summary>Where the server listens, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>A non-expiring token with every capability, in the root namespace.</summary>
    public string RootToken { get; }

    /// <summary>While true, every request but sys/health answers 503 "Vault is sealed".</summary>
    public bool Sealed { get; set; }

    /// <summary>While true, sys/health answers 429 unless standbyok=true.</summary>
    public bool Standby { get; set; }

    /// <summary>The mount-wide cas_required setting of every KV mount.</summary>
    public bool CasRequired { get; set; }

    /// <summary>When true, a refused token gets only "permission denied" (Vault before 1.15), not also "invalid token".</summary>
    public bool LegacyPermissionErrors { get; set; }

    /// <summary>Added to every request, before it is handled.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Every request received, in order of arrival.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>How many requests were received (cheaper than <see cref="Requests"/>).</summary>
    public int RequestCount => _requests.Count;

    /// <summary>How many requests the rate limit quota of <see cref="SetRateLimit"/> refused.</summary>
    public int ThrottledCount => Volatile.Read(ref _throttled);

    /// <summary>
    /// A rate limit quota: requests (sys/health exempt) above <paramref name="perSecond"/> are answered 429; with
    /// <paramref name="responseHeaders"/> (enable_rate_limit_response_headers) also Retry-After and the X-Ratelimit headers.
    /// </summary>
    public void SetRateLimit(double perSecond, bool responseHeaders = false) => _rateLimit = new RateLimit(perSecond, responseHeaders);

    /// <summary>Removes the rate limit quota.</summary>
    public void ClearRateLimit() => _rateLimit = null;

    /// <summary>Starts a server on a free loopback port; HTTPS when a certificate is given.</summary>
    public static async Task<VaultTestServer> StartAsync(TimeProvider? time = null, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var server = new VaultTestServer(app, time ?? TimeProvider.System);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Enables a KV version 2 mount.</summary>
    public void AddMount(string mount, string ns = RootNs)
    {
        lock (_lock)
        {
            _kv.TryAdd((NormalizeNs(ns), mount), new SortedDictionary<string, KvKey>(StringComparer.Ordinal));
        }
    }

    /// <summary>Issues a token (as an operator would with vault token create).</summary>
    public string CreateToken(TimeSpan? ttl = null, bool renewable = true, string ns = RootNs, TimeSpan? maxTtl = null) =>
        IssueToken(NormalizeNs(ns), ttl, maxTtl, renewable, "token", ["agentscope"]).Id;

    /// <summary>Configures an AppRole role with one valid secret_id.</summary>
    public void AddAppRole(string roleId, string secretId, TimeSpan tokenTtl, string mount = "approle", string ns = RootNs, bool renewable = true, TimeSpan? maxTtl = null)
    {
        lock (_lock)
        {
            var key = (NormalizeNs(ns), mount);
            if (!_appRoles.TryGetValue(key, out var roles))
            {
                _appRoles[key] = roles = new Dictionary<string, AppRole>(StringComparer.Ordinal);
            }

            roles[roleId] = new AppRole(secretId, tokenTtl, maxTtl, renewable);
        }
    }

    /// <summary>Configures a Kubernetes auth role that accepts one service-account JWT.</summary>
    public void AddKubernetesRole(string role, string jwt, TimeSpan tokenTtl, string mount = "kubernetes", string ns = RootNs)
    {
        lock (_lock)
        {
            var key = (NormalizeNs(ns), mount);
            if (!_k8sRoles.TryGetValue(key, out var roles))
            {
                _k8sRoles[key] = roles = new Dictionary<string, KubernetesRole>(StringComparer.Ordinal);
            }

            roles[role] = new KubernetesRole(jwt, tokenTtl);
        }
    }

    /// <summary>Denies capabilities (create, read, update, delete, list) on a policy path glob (a trailing '*' is a prefix match), for every token.</summary>
    public void Deny(string glob, params string[] capabilities)
    {
        lock (_lock)
        {
            foreach (var c in capabilities)
            {
                _denied.Add((glob, c));
            }
        }
    }

    /// <summary>Lifts every <see cref="Deny"/>.</summary>
    public void AllowAll()
    {
        lock (_lock)
        {
            _denied.Clear();
        }
    }

    /// <summary>The next <paramref name="times"/> requests (whose path starts with the prefix) answer <paramref name="status"/>.</summary>
    public void InjectFaults(int status, int times, string? pathPrefix = null, TimeSpan? retryAfter = null)
    {
        lock (_lock)
        {
            _faults.Add(new Fault(status, times, pathPrefix, retryAfter, drop: false));
        }
    }

    /// <summary>The next <paramref name="times"/> requests (whose path starts with the prefix) lose their connection.</summary>
    public void DropConnections(int times, string? pathPrefix = null)
    {
        lock (_lock)
        {
            _faults.Add(new Fault(0, times, pathPrefix, null, drop: true));
        }
    }

    /// <summary>Drops every injected fault and dropped connection not yet used.</summary>
    public void ClearFaults()
    {
        lock (_lock)
        {
            _faults.Clear();
        }
    }

    /// <summary>Makes a token expire now (as if its TTL ran out).</summary>
    public void ExpireToken(string token)
    {
        lock (_lock)
        {
            if (_tokens.TryGetValue(token, out var t))
            {
                t.ExpiresAt = _time.GetUtcNow().AddSeconds(-1);
            }
        }
    }

    /// <summary>Makes every token but the root token expire now.</summary>
    public void ExpireAllTokens()
    {
        lock (_lock)
        {
            foreach (var t in _tokens.Values.Where(t => t.Id != RootToken))
            {
                t.ExpiresAt = _time.GetUtcNow().AddSeconds(-1);
            }
        }
    }

    /// <summary>True when the token exists and has not expired.</summary>
    public bool IsTokenValid(string token)
    {
        lock (_lock)
        {
            return _tokens.TryGetValue(token, out var t) && !t.Expired(_time.GetUtcNow());
        }
    }

    /// <summary>The keys stored in a mount (metadata-only keys included), for assertions.</summary>
    public IReadOnlyList<string> Keys(string mount = "secret", string ns = RootNs)
    {
        lock (_lock)
        {
            return _kv.TryGetValue((NormalizeNs(ns), mount), out var store) ? store.Keys.ToList() : [];
        }
    }

    /// <summary>The data map of a key's current version, for assertions; null when absent.</summary>
    public JsonObject? ReadData(string path, string mount = "secret", string ns = RootNs)
    {
        lock (_lock)
        {
            return _kv.TryGetValue((NormalizeNs(ns), mount), out var store) && store.TryGetValue(path, out var key)
                && key.Versions.TryGetValue(key.Current, out var v) ? (JsonObject)v.Data.DeepClone() : null;
        }
    }

    /// <summary>The custom_metadata of a key, for assertions; null when absent.</summary>
    public IReadOnlyDictionary<string, string>? ReadCustomMetadata(string path, string mount = "secret", string ns = RootNs)
    {
        lock (_lock)
        {
            return _kv.TryGetValue((NormalizeNs(ns), mount), out var store) && store.TryGetValue(path, out var key)
                ? new Dictionary<string, string>(key.Custom) : null;
        }
    }

    /// <summary>Writes a data version as another Vault client would (no AgentScope metadata).</summary>
    public void WriteRaw(string path, JsonObject data, string mount = "secret", string ns = RootNs)
    {
        lock (_lock)
        {
            var store = _kv[(NormalizeNs(ns), mount)];
            if (!store.TryGetValue(path, out var key))
            {
                store[path] = key = new KvKey(_time.GetUtcNow());
            }

            key.AddVersion(data, _time.GetUtcNow());
        }
    }

    /// <summary>Makes a self-signed certificate for 127.0.0.1 and writes its PEM to <paramref name="pemPath"/>.</summary>
    public static X509Certificate2 CreateCertificate(string pemPath)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=vault-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(pemPath, cert.ExportCertificatePem());
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var fullPath = ctx.Request.Path.Value ?? "/";
        var ns = NormalizeNs(ctx.Request.Headers["X-Vault-Namespace"].ToString());
        var token = ctx.Request.Headers["X-Vault-Token"].ToString() is { Length: > 0 } t ? t
            : ctx.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null;
        var path = fullPath.StartsWith("/v1/", StringComparison.Ordinal) ? fullPath[4..] : fullPath;
        var method = ctx.Request.Method == "GET" && ctx.Request.Query["list"] == "true" ? "LIST" : ctx.Request.Method;
        _requests.Enqueue(new RecordedRequest(method, path, ns.Length == 0 ? null : ns, token, ctx.Request.Headers["X-Vault-Request"] == "true"));

        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency);
        }

        if (!fullPath.StartsWith("/v1/", StringComparison.Ordinal))
        {
            await Reply(ctx, 404, Errors());
            return;
        }

        if (path != "sys/health" && _rateLimit is { } quota && !quota.TryTake(out var reset))
        {
            Interlocked.Increment(ref _throttled);
            if (quota.ResponseHeaders)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling(reset.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                ctx.Response.Headers.RetryAfter = seconds;
                ctx.Response.Headers["X-Ratelimit-Limit"] = ((int)quota.PerSecond).ToString(CultureInfo.InvariantCulture);
                ctx.Response.Headers["X-Ratelimit-Remaining"] = "0";
                ctx.Response.Headers["X-Ratelimit-Reset"] = seconds;
            }

            await Reply(ctx, 429, Errors($"request path \"{path}\": rate limit quota exceeded"));
            return;
        }

        var fault = TakeFault(path);
        if (fault is { Drop: true })
        {
            ctx.Abort();
            return;
        }

        if (fault is not null)
        {
            if (fault.RetryAfter is { } after)
            {
                ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            await Reply(ctx, fault.Status, Errors(fault.Status switch
            {
                429 => $"request path \"{path}\": rate limit quota exceeded",
                412 => "required index state not present",
                503 => "Vault is sealed",
                _ => "internal error",
            }));
            return;
        }

        if (path == "sys/health" && method is "GET" or "HEAD")
        {
            await HealthAsync(ctx);
            return;
        }

        if (Sealed)
        {
            await Reply(ctx, 503, Errors("Vault is sealed"));
            return;
        }

        JsonObject? body = null;
        if (method is "POST" or "PUT")
        {
            try
            {
                body = await JsonNode.ParseAsync(ctx.Request.Body) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                await Reply(ctx, 400, Errors("failed to parse JSON input"));
                return;
            }
        }

        long? version = long.TryParse(ctx.Request.Query["version"], CultureInfo.InvariantCulture, out var v) && v > 0 ? v : null;
        var (status, response) = Handle(method, path, ns, token, body, version);
        await Reply(ctx, status, response);
    }

    private (int Status, JsonObject? Body) Handle(string method, string path, string ns, string? token, JsonObject? body, long? version)
    {
        lock (_lock)
        {
            var segments = path.Split('/');
            if (segments is ["auth", .. var mountParts, "login"] && method is "POST" or "PUT" && mountParts.Length > 0)
            {
                return Login(ns, string.Join('/', mountParts), body);
            }

            var now = _time.GetUtcNow();
            if (token is null || !_tokens.TryGetValue(token, out var entry) || entry.Expired(now))
            {
                return (403, LegacyPermissionErrors ? Errors("permission denied") : Errors("2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"));
            }

            // A token works in the namespace that issued it and in that namespace's children.
            if (entry.Namespace.Length > 0 && ns != entry.Namespace && !ns.StartsWith(entry.Namespace + "/", StringComparison.Ordinal))
            {
                return (403, Errors("permission denied"));
            }

            if (path == "auth/token/lookup-self" && method == "GET")
            {
                return (200, LookupSelf(entry, now));
            }

            if (path == "auth/token/renew-self" && method is "POST" or "PUT")
            {
                return RenewSelf(entry, now);
            }

            var mount = _kv.Keys.Where(k => k.Ns == ns && (path == k.Mount || path.StartsWith(k.Mount + "/", StringComparison.Ordinal)))
                .Select(k => k.Mount).OrderByDescending(m => m.Length).FirstOrDefault();
            if (mount is null)
            {
                return (404, Errors($"1 error occurred:\n\t* no handler for route \"{path}\". route entry not found.\n\n"));
            }

            var store = _kv[(ns, mount)];
            var rest = path.Length > mount.Length ? path[(mount.Length + 1)..] : "";
            var (kind, key) = rest.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 ? (rest[..slash], rest[(slash + 1)..]) : (rest, "");
            var capability = method switch
            {
                "GET" => "read",
                "LIST" => "list",
                "DELETE" => "delete",
                _ => store.ContainsKey(key) ? "update" : "create",
            };
            if (entry.Policies.Contains("root") ? false : IsDenied(path, capability))
            {
                return (403, Errors("permission denied"));
            }

            return (kind, method) switch
            {
                ("data", "GET") => ReadData(store, key, version),
                ("data", "POST" or "PUT") => WriteData(store, key, body, now),
                ("data", "DELETE") => SoftDelete(store, key, now),
                ("metadata", "GET") => ReadMetadata(store, key),
                ("metadata", "POST" or "PUT") => WriteMetadata(store, key, body, now),
                ("metadata", "DELETE") => DestroyAll(store, key),
                ("metadata", "LIST") => List(store, key),
                _ => (405, Errors("1 error occurred:\n\t* unsupported operation\n\n")),
            };
        }
    }

    private (int, JsonObject?) Login(string ns, string mount, JsonObject? body)
    {
        if (_appRoles.TryGetValue((ns, mount), out var appRoles))
        {
            var roleId = body?["role_id"]?.GetValue<string>();
            var secretId = body?["secret_id"]?.GetValue<string>();
            if (roleId is null || !appRoles.TryGetValue(roleId, out var role) || role.SecretId != secretId)
            {
                return (400, Errors("invalid role or secret ID"));
            }

            return (200, AuthEnvelope(IssueToken(ns, role.Ttl, role.MaxTtl, role.Renewable, "approle", ["default", "agentscope"]), _time.GetUtcNow()));
        }

        if (_k8sRoles.TryGetValue((ns, mount), out var k8sRoles))
        {
            var roleName = body?["role"]?.GetValue<string>() ?? "";
            if (!k8sRoles.TryGetValue(roleName, out var role))
            {
                return (400, Errors($"invalid role name \"{roleName}\""));
            }

            if (body?["jwt"]?.GetValue<string>() != role.Jwt)
            {
                return (403, Errors("permission denied"));
            }

            return (200, AuthEnvelope(IssueToken(ns, role.Ttl, null, renewable: true, "kubernetes", ["default", "agentscope"]), _time.GetUtcNow()));
        }

        return (404, Errors($"1 error occurred:\n\t* no handler for route \"auth/{mount}/login\". route entry not found.\n\n"));
    }

    private JsonObject LookupSelf(TokenEntry t, DateTimeOffset now) => new()
    {
        ["request_id"] = Guid.NewGuid().ToString(),
        ["data"] = new JsonObject
        {
            ["accessor"] = t.Accessor,
            ["creation_time"] = t.Created.ToUnixTimeSeconds(),
            ["creation_ttl"] = (long)(t.Ttl?.TotalSeconds ?? 0),
            ["display_name"] = t.DisplayName,
            ["expire_time"] = t.ExpiresAt is { } e ? VaultTime(e) : null,
            ["explicit_max_ttl"] = (long)(t.MaxTtl?.TotalSeconds ?? 0),
            ["id"] = t.Id,
            ["policies"] = new JsonArray(t.Policies.Select(p => (JsonNode)p).ToArray()),
            ["renewable"] = t.Renewable,
            ["ttl"] = t.ExpiresAt is { } exp ? Math.Max(0, (long)(exp - now).TotalSeconds) : 0,
            ["type"] = "service",
        },
    };

    private (int, JsonObject?) RenewSelf(TokenEntry t, DateTimeOffset now)
    {
        if (!t.Renewable || t.Ttl is not { } ttl)
        {
            return (400, Errors("lease is not renewable"));
        }

        var expires = now + ttl;
        if (t.MaxTtl is { } max && expires > t.Created + max)
        {
            expires = t.Created + max;
        }

        t.ExpiresAt = expires;
        t.Renewals++;
        return (200, AuthEnvelope(t, now));
    }

    private static (int, JsonObject?) ReadData(SortedDictionary<string, KvKey> store, string key, long? version)
    {
        if (!store.TryGetValue(key, out var k) || !k.Versions.TryGetValue(version ?? k.Current, out var v))
        {
            return (404, Errors());
        }

        var metadata = new JsonObject
        {
            ["created_time"] = VaultTime(v.Created),
            ["custom_metadata"] = CustomJson(k),
            ["deletion_time"] = v.Deleted is { } d ? VaultTime(d) : "",
            ["destroyed"] = v.Destroyed,
            ["version"] = version ?? k.Current,
        };
        if (v.Deleted is not null || v.Destroyed)
        {
            return (404, Envelope(new JsonObject { ["data"] = null, ["metadata"] = metadata }));
        }

        return (200, Envelope(new JsonObject { ["data"] = v.Data.DeepClone(), ["metadata"] = metadata }));
    }

    private (int, JsonObject?) WriteData(SortedDictionary<string, KvKey> store, string key, JsonObject? body, DateTimeOffset now)
    {
        if (key.Length == 0 || key.EndsWith('/'))
        {
            return (404, Errors("1 error occurred:\n\t* unsupported path\n\n"));
        }

        if (body?["data"] is not JsonObject data)
        {
            return (400, Errors("no data provided"));
        }

        store.TryGetValue(key, out var existing);
        var current = existing?.Current ?? 0;
        if (body["options"]?["cas"] is { } casNode)
        {
            if (casNode.GetValue<long>() != current)
            {
                return (400, Errors("check-and-set parameter did not match the current version"));
            }
        }
        else if (CasRequired || existing?.CasRequired == true)
        {
            return (400, Errors("check-and-set parameter required for this call"));
        }

        if (existing is null)
        {
            store[key] = existing = new KvKey(now);
        }

        var v = existing.AddVersion((JsonObject)data.DeepClone(), now);
        return (200, Envelope(new JsonObject
        {
            ["created_time"] = VaultTime(v.Created),
            ["custom_metadata"] = CustomJson(existing),
            ["deletion_time"] = "",
            ["destroyed"] = false,
            ["version"] = existing.Current,
        }));
    }

    private static (int, JsonObject?) SoftDelete(SortedDictionary<string, KvKey> store, string key, DateTimeOffset now)
    {
        if (store.TryGetValue(key, out var k) && k.Versions.TryGetValue(k.Current, out var v))
        {
            v.Deleted = now;
        }

        return (204, null);
    }

    private static (int, JsonObject?) ReadMetadata(SortedDictionary<string, KvKey> store, string key)
    {
        if (!store.TryGetValue(key, out var k))
        {
            return (404, Errors());
        }

        var versions = new JsonObject();
        foreach (var (n, v) in k.Versions)
        {
            versions[n.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["created_time"] = VaultTime(v.Created),
                ["deletion_time"] = v.Deleted is { } d ? VaultTime(d) : "",
                ["destroyed"] = v.Destroyed,
            };
        }

        return (200, Envelope(new JsonObject
        {
            ["cas_required"] = k.CasRequired,
            ["created_time"] = VaultTime(k.Created),
            ["current_version"] = k.Current,
            ["custom_metadata"] = CustomJson(k),
            ["delete_version_after"] = "0s",
            ["max_versions"] = 0,
            ["oldest_version"] = k.Versions.Count == 0 ? 0 : k.Versions.Keys.Min(),
            ["updated_time"] = VaultTime(k.Updated),
            ["versions"] = versions,
        }));
    }

    private static (int, JsonObject?) WriteMetadata(SortedDictionary<string, KvKey> store, string key, JsonObject? body, DateTimeOffset now)
    {
        if (key.Length == 0)
        {
            return (400, Errors("missing path"));
        }

        Dictionary<string, string>? custom = null;
        if (body?["custom_metadata"] is JsonObject cm)
        {
            custom = cm.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "", StringComparer.Ordinal);
            var problems = new List<string>();
            if (custom.Count > 64)
            {
                problems.Add($"custom_metadata validation failed: payload must contain at most 64 keys, provided {custom.Count}");
            }
            else
            {
                foreach (var (k, v) in custom)
                {
                    var kl = Encoding.UTF8.GetByteCount(k);
                    var vl = Encoding.UTF8.GetByteCount(v);
                    if (kl is 0 or > 128)
                    {
                        problems.Add($"custom_metadata validation failed: length of key \"{k}\" is {kl} but must be 0 < len(key) <= 128");
                    }

                    if (vl is 0 or > 512)
                    {
                        problems.Add($"custom_metadata validation failed: length of value for key \"{k}\" is {vl} but must be 0 < len(value) <= 512");
                    }
                }
            }

            if (problems.Count > 0)
            {
                return (400, Errors(problems.Count == 1 ? problems[0] : $"{problems.Count} errors occurred:\n\t* " + string.Join("\n\t* ", problems) + "\n\n"));
            }
        }

        if (!store.TryGetValue(key, out var existing))
        {
            store[key] = existing = new KvKey(now);
        }

        if (custom is not null)
        {
            existing.Custom = custom;
        }

        if (body?["cas_required"] is { } cr)
        {
            existing.CasRequired = cr.GetValue<bool>();
        }

        return (204, null);
    }

    private static (int, JsonObject?) DestroyAll(SortedDictionary<string, KvKey> store, string key)
    {
        store.Remove(key);
        return (204, null);
    }

    private static (int, JsonObject?) List(SortedDictionary<string, KvKey> store, string folder)
    {
        // Vault's router appends the '/' that makes a LIST path a folder.
        var prefix = folder.Length == 0 || folder.EndsWith('/') ? folder : folder + "/";
        var children = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in store.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && key.Length > prefix.Length)
            {
                var rest = key[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                children.Add(slash < 0 ? rest : rest[..(slash + 1)]);
            }
        }

        if (children.Count == 0)
        {
            return (404, Errors());
        }

        return (200, Envelope(new JsonObject { ["keys"] = new JsonArray(children.Select(c => (JsonNode)c).ToArray()) }));
    }

    private async Task HealthAsync(HttpContext ctx)
    {
        var standbyOk = ctx.Request.Query["standbyok"] == "true";
        var status = Sealed ? 503 : Standby && !standbyOk ? 429 : 200;
        await Reply(ctx, status, new JsonObject
        {
            ["initialized"] = true,
            ["sealed"] = Sealed,
            ["standby"] = Standby,
            ["performance_standby"] = false,
            ["replication_performance_mode"] = "disabled",
            ["replication_dr_mode"] = "disabled",
            ["server_time_utc"] = _time.GetUtcNow().ToUnixTimeSeconds(),
            ["version"] = "1.17.0",
            ["cluster_name"] = "vault-test",
            ["cluster_id"] = "00000000-0000-0000-0000-000000000000",
        });
    }

    private bool IsDenied(string path, string capability) =>
        _denied.Any(d => d.Capability == capability && (d.Glob.EndsWith('*') ? path.StartsWith(d.Glob[..^1], StringComparison.Ordinal) : path == d.Glob));

    private Fault? TakeFault(string path)
    {
        lock (_lock)
        {
            var fault = _faults.FirstOrDefault(f => f.Remaining > 0 && (f.PathPrefix is null || path.StartsWith(f.PathPrefix, StringComparison.Ordinal)));
            if (fault is null)
            {
                return null;
            }

            fault.Remaining--;
            return fault;
        }
    }

    private TokenEntry IssueToken(string ns, TimeSpan? ttl, TimeSpan? maxTtl, bool renewable, string displayName, string[] policies)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var token = new TokenEntry("hvs." + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant(), ns, now, ttl, maxTtl, renewable, displayName, policies)
            {
                ExpiresAt = ttl is { } t ? now + t : null,
            };
            _tokens[token.Id] = token;
            return token;
        }
    }

    private static JsonObject AuthEnvelope(TokenEntry t, DateTimeOffset now) => new()
    {
        ["request_id"] = Guid.NewGuid().ToString(),
        ["lease_id"] = "",
        ["renewable"] = false,
        ["lease_duration"] = 0,
        ["data"] = null,
        ["wrap_info"] = null,
        ["warnings"] = null,
        ["auth"] = new JsonObject
        {
            ["client_token"] = t.Id,
            ["accessor"] = t.Accessor,
            ["policies"] = new JsonArray(t.Policies.Select(p => (JsonNode)p).ToArray()),
            ["token_policies"] = new JsonArray(t.Policies.Select(p => (JsonNode)p).ToArray()),
            ["metadata"] = null,
            ["lease_duration"] = t.ExpiresAt is { } e ? Math.Max(0, (long)Math.Round((e - now).TotalSeconds)) : 0,
            ["renewable"] = t.Renewable,
            ["entity_id"] = "",
            ["token_type"] = "service",
            ["orphan"] = true,
        },
    };

    private static JsonObject Envelope(JsonObject data) => new()
    {
        ["request_id"] = Guid.NewGuid().ToString(),
        ["lease_id"] = "",
        ["renewable"] = false,
        ["lease_duration"] = 0,
        ["data"] = data,
        ["wrap_info"] = null,
        ["warnings"] = null,
        ["auth"] = null,
    };

    private static JsonObject Errors(params string[] errors) => new() { ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e).ToArray()) };

    private static JsonNode? CustomJson(KvKey k) => k.Custom.Count == 0 ? null : new JsonObject(k.Custom.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));

    // Vault prints RFC 3339 with nanoseconds.
    private static string VaultTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "00Z";

    private static string NormalizeNs(string? ns) => (ns ?? "").Trim('/');

    private static async Task Reply(HttpContext ctx, int status, JsonObject? body)
    {
        ctx.Response.StatusCode = status;
        if (body is not null && status != 204)
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body.ToJsonString());
        }
    }

    private sealed class KvKey(DateTimeOffset created)
    {
        public long Current { get; private set; }
        public SortedDictionary<long, KvVersion> Versions { get; } = [];
        public Dictionary<string, string> Custom { get; set; } = new(StringComparer.Ordinal);
        public DateTimeOffset Created { get; } = created;
        public DateTimeOffset Updated { get; private set; } = created;
        public bool CasRequired { get; set; }

        public KvVersion AddVersion(JsonObject data, DateTimeOffset now)
        {
            Current++;
            var v = new KvVersion(data, now);
            Versions[Current] = v;
            Updated = now;
            while (Versions.Count > 10)
            {
                Versions.Remove(Versions.Keys.First());
            }

            return v;
        }
    }

    private sealed class KvVersion(JsonObject data, DateTimeOffset created)
    {
        public JsonObject Data { get; } = data;
        public DateTimeOffset Created { get; } = created;
        public DateTimeOffset? Deleted { get; set; }
        public bool Destroyed { get; set; }
    }

    private sealed class TokenEntry(string id, string ns, DateTimeOffset created, TimeSpan? ttl, TimeSpan? maxTtl, bool renewable, string displayName, string[] policies)
    {
        public string Id { get; } = id;
        public string Accessor { get; } = Guid.NewGuid().ToString();
        public string Namespace { get; } = ns;
        public DateTimeOffset Created { get; } = created;
        public TimeSpan? Ttl { get; } = ttl;
        public TimeSpan? MaxTtl { get; } = maxTtl;
        public bool Renewable { get; } = renewable;
        public string DisplayName { get; } = displayName;
        public string[] Policies { get; } = policies;
        public DateTimeOffset? ExpiresAt { get; set; }
        public int Renewals { get; set; }

        public bool Expired(DateTimeOffset now) => ExpiresAt is { } e && now >= e;
    }

    private sealed record AppRole(string SecretId, TimeSpan Ttl, TimeSpan? MaxTtl, bool Renewable);

    private sealed record KubernetesRole(string Jwt, TimeSpan Ttl);

    private sealed class RateLimit(double perSecond, bool responseHeaders)
    {
        private readonly Lock _lock = new();
        private double _tokens = perSecond;
        private long _last = System.Diagnostics.Stopwatch.GetTimestamp();

        public double PerSecond { get; } = perSecond;

        public bool ResponseHeaders { get; } = responseHeaders;

        public bool TryTake(out TimeSpan untilNext)
        {
            lock (_lock)
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                _tokens = Math.Min(PerSecond, _tokens + (System.Diagnostics.Stopwatch.GetElapsedTime(_last, now).TotalSeconds * PerSecond));
                _last = now;
                if (_tokens < 1)
                {
                    untilNext = TimeSpan.FromSeconds((1 - _tokens) / PerSecond);
                    return false;
                }

                _tokens -= 1;
                untilNext = TimeSpan.Zero;
                return true;
            }
        }
    }

    private sealed class Fault(int status, int times, string? pathPrefix, TimeSpan? retryAfter, bool drop)
    {
        public int Status { get; } = status;
        public int Remaining { get; set; } = times;
        public string? PathPrefix { get; } = pathPrefix;
        public TimeSpan? RetryAfter { get; } = retryAfter;
        public bool Drop { get; } = drop;
    }
}
