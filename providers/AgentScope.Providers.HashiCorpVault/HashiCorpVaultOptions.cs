using AgentScope.Providers.HashiCorpVault.Internal;

namespace AgentScope.Providers.HashiCorpVault;

/// <summary>How AgentScope obtains its Vault token.</summary>
public enum HashiCorpVaultAuthMethod
{
    /// <summary>A token given in <see cref="HashiCorpVaultAuthOptions.Token"/> or <c>VAULT_TOKEN</c>; renewed when it is renewable.</summary>
    Token = 0,

    /// <summary>AppRole login (<c>POST auth/&lt;mount&gt;/login</c> with role_id and secret_id).</summary>
    AppRole = 1,

    /// <summary>Kubernetes login (<c>POST auth/&lt;mount&gt;/login</c> with the pod's service-account JWT).</summary>
    Kubernetes = 2,
}

/// <summary>
/// Settings of the HashiCorp Vault backend, bound from the <c>"Backend"</c> section of <c>agentscope.json</c>
/// (<c>{"Kind": "HashiCorpVault", "Address": ..., "Auth": {...}}</c>) or set in code. Validated once, every problem reported together.
/// </summary>
public sealed class HashiCorpVaultOptions
{
    /// <summary>The default KV version 2 mount.</summary>
    public const string DefaultMount = "secret";

    /// <summary>The default folder under the mount that holds everything AgentScope stores.</summary>
    public const string DefaultRootPath = "agentscope";

    /// <summary>
    /// The default largest value: 512 KiB. Vault's own request limit is 32 MiB, but its storage backends are smaller:
    /// integrated storage (raft) refuses entries over <c>max_entry_size</c> (1 MiB by default), and a 512 KiB value that
    /// AgentScope encrypted is stored as base64 (about 683 KiB) plus the KV envelope, which still fits. Consul storage
    /// limits a key to 512 KiB, so on Consul set <see cref="MaxValueBytes"/> to 384 KiB or less.
    /// </summary>
    public const int DefaultMaxValueBytes = 512 * 1024;

    /// <summary>The kind name that selects this provider in <c>agentscope.json</c>.</summary>
    public const string KindName = "HashiCorpVault";

    /// <summary>Vault's address, e.g. <c>https://vault.example.com:8200</c>. Falls back to <c>VAULT_ADDR</c>. Required.</summary>
    public string? Address { get; set; }

    /// <summary>The KV version 2 mount. Default <c>secret</c>.</summary>
    public string Mount { get; set; } = DefaultMount;

    /// <summary>The folder under the mount that holds AgentScope's entries (<c>&lt;root&gt;/agents/&lt;agent&gt;/&lt;label&gt;</c>). Default <c>agentscope</c>.</summary>
    public string RootPath { get; set; } = DefaultRootPath;

    /// <summary>The Vault Enterprise namespace, sent as <c>X-Vault-Namespace</c>. Falls back to <c>VAULT_NAMESPACE</c>.</summary>
    public string? Namespace { get; set; }

    /// <summary>How AgentScope logs in.</summary>
    public HashiCorpVaultAuthOptions Auth { get; set; } = new();

    /// <summary>A PEM file with the CA certificate(s) that sign Vault's TLS certificate. Falls back to <c>VAULT_CACERT</c>.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>Accept any TLS certificate. Only for experiments; never honoured from the environment. Default false.</summary>
    public bool SkipTlsVerify { get; set; }

    /// <summary>How long one HTTP attempt may take before it counts as failed (and is retried). Default 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many times a call that failed transiently (429, 412, 5xx, sealed, standby, timeout, connection refused) is retried,
    /// with jittered exponential backoff that honours <c>Retry-After</c>. Default 4 (five attempts).
    /// </summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>The first retry's median delay; each further retry doubles it, up to 30 seconds. Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long, in all, a call that Vault keeps answering 429 (a rate limit quota) is retried once <see cref="MaxRetries"/>
    /// are spent: a quota clears, so a rate-limited call waits its turn instead of failing. Each wait is the
    /// <c>Retry-After</c> Vault sends (with <c>enable_rate_limit_response_headers</c>) or else a jittered backoff of at most
    /// one second, a quota's usual interval. Zero treats 429 like any other transient failure. Default 1 minute.
    /// </summary>
    public TimeSpan RateLimitWait { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The largest value accepted, in bytes. Default <see cref="DefaultMaxValueBytes"/> (see there why).</summary>
    public int MaxValueBytes { get; set; } = DefaultMaxValueBytes;

    /// <summary>How many Vault calls enumeration runs at once, and what the core may run for revoke and sweep. Default 8.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Throws one invalid-input error that lists every problem, after applying the <c>VAULT_*</c> fallbacks.</summary>
    public void Validate() => _ = Resolve(Environment.GetEnvironmentVariable);

    /// <summary>Applies the environment fallbacks and defaults, validates, and returns the settings the provider runs with.</summary>
    internal VaultSettings Resolve(Func<string, string?> environment)
    {
        var problems = new List<string>();
        var auth = Auth ?? new HashiCorpVaultAuthOptions();

        var address = NullIfBlank(Address) ?? NullIfBlank(environment("VAULT_ADDR"));
        Uri? baseUri = null;
        if (address is null)
        {
            problems.Add("Address is required (or set VAULT_ADDR)");
        }
        else if (!Uri.TryCreate(address, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(parsed.Query) || !string.IsNullOrEmpty(parsed.Fragment))
        {
            problems.Add($"Address '{address}' must be an absolute http:// or https:// URL without query");
        }
        else
        {
            baseUri = new Uri(parsed.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/v1/");
        }

        var mount = (Mount ?? "").Trim('/');
        if (!IsSafePath(mount))
        {
            problems.Add($"Mount '{Mount}' must be one or more '/'-separated segments of letters, digits, '.', '_' or '-'");
        }

        var root = (RootPath ?? "").Trim('/');
        if (!IsSafePath(root))
        {
            problems.Add($"RootPath '{RootPath}' must be one or more '/'-separated segments of letters, digits, '.', '_' or '-'");
        }

        var ns = NullIfBlank(Namespace) ?? NullIfBlank(environment("VAULT_NAMESPACE"));
        if (ns is not null && !IsSafePath(ns.Trim('/')))
        {
            problems.Add($"Namespace '{ns}' must be '/'-separated segments of letters, digits, '.', '_' or '-'");
        }

        var caFile = NullIfBlank(CaCertificateFile) ?? NullIfBlank(environment("VAULT_CACERT"));
        if (caFile is not null && !File.Exists(caFile))
        {
            problems.Add($"CaCertificateFile '{caFile}' does not exist");
        }

        if (caFile is not null && SkipTlsVerify)
        {
            problems.Add("CaCertificateFile and SkipTlsVerify exclude each other");
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(10))
        {
            problems.Add("Timeout must be between 0 and 10 minutes");
        }

        if (MaxRetries is < 0 or > 20)
        {
            problems.Add("MaxRetries must be between 0 and 20");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromSeconds(30))
        {
            problems.Add("RetryBaseDelay must be between 0 and 30 seconds");
        }

        if (RateLimitWait < TimeSpan.Zero || RateLimitWait > TimeSpan.FromMinutes(30))
        {
            problems.Add("RateLimitWait must be between 0 and 30 minutes");
        }

        if (MaxValueBytes is <= 0 or > 16 << 20)
        {
            problems.Add("MaxValueBytes must be between 1 and 16 MiB");
        }

        if (MaxConcurrency is <= 0 or > 256)
        {
            problems.Add("MaxConcurrency must be between 1 and 256");
        }

        string? token = null, roleId = null, secretId = null, secretIdFile = null, role = null;
        var jwtPath = NullIfBlank(auth.JwtPath) ?? HashiCorpVaultAuthOptions.DefaultJwtPath;
        var authMount = NullIfBlank(auth.MountPath)?.Trim('/');
        switch (auth.Method)
        {
            case HashiCorpVaultAuthMethod.Token:
                token = NullIfBlank(auth.Token) ?? NullIfBlank(environment("VAULT_TOKEN"));
                if (token is null)
                {
                    problems.Add("Auth.Token is required for the Token method (or set VAULT_TOKEN)");
                }

                authMount = "token";
                break;
            case HashiCorpVaultAuthMethod.AppRole:
                roleId = NullIfBlank(auth.RoleId);
                secretId = NullIfBlank(auth.SecretId);
                secretIdFile = NullIfBlank(auth.SecretIdFile);
                if (roleId is null)
                {
                    problems.Add("Auth.RoleId is required for the AppRole method");
                }

                if ((secretId is null) == (secretIdFile is null))
                {
                    problems.Add("exactly one of Auth.SecretId and Auth.SecretIdFile is required for the AppRole method");
                }
                else if (secretIdFile is not null && !File.Exists(secretIdFile))
                {
                    problems.Add($"Auth.SecretIdFile '{secretIdFile}' does not exist");
                }

                authMount ??= "approle";
                break;
            case HashiCorpVaultAuthMethod.Kubernetes:
                role = NullIfBlank(auth.Role);
                if (role is null)
                {
                    problems.Add("Auth.Role is required for the Kubernetes method");
                }

                authMount ??= HashiCorpVaultAuthOptions.DefaultKubernetesMountPath;
                break;
            default:
                problems.Add($"Auth.Method '{auth.Method}' is not one of Token, AppRole, Kubernetes");
                break;
        }

        if (authMount is not null && !IsSafePath(authMount))
        {
            problems.Add($"Auth.MountPath '{auth.MountPath}' must be '/'-separated segments of letters, digits, '.', '_' or '-'");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid HashiCorp Vault options: " + string.Join("; ", problems));
        }

        return new VaultSettings
        {
            BaseAddress = baseUri!,
            Mount = mount,
            RootPath = root,
            Namespace = ns,
            Method = auth.Method,
            Token = token,
            RoleId = roleId,
            SecretId = secretId,
            SecretIdFile = secretIdFile,
            KubernetesRole = role,
            JwtPath = jwtPath,
            AuthMount = authMount!,
            CaCertificateFile = caFile,
            SkipTlsVerify = SkipTlsVerify,
            Timeout = Timeout,
            MaxRetries = MaxRetries,
            RetryBaseDelay = RetryBaseDelay,
            RateLimitWait = RateLimitWait,
            MaxValueBytes = MaxValueBytes,
            MaxConcurrency = MaxConcurrency,
        };
    }

    private static string? NullIfBlank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    internal static bool IsSafePath(string path)
    {
        if (path.Length == 0 || path.Length > 512)
        {
            return false;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || !segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>How AgentScope logs in to Vault. Only the fields of the chosen <see cref="Method"/> are used.</summary>
public sealed class HashiCorpVaultAuthOptions
{
    /// <summary>Where Kubernetes mounts a pod's service-account token.</summary>
    public const string DefaultJwtPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>The default mount of the Kubernetes auth method.</summary>
    public const string DefaultKubernetesMountPath = "kubernetes";

    /// <summary>The auth method. Default <see cref="HashiCorpVaultAuthMethod.Token"/>.</summary>
    public HashiCorpVaultAuthMethod Method { get; set; }

    /// <summary>Token method: the Vault token. Falls back to <c>VAULT_TOKEN</c>. Prefer the environment to a file on disk.</summary>
    public string? Token { get; set; }

    /// <summary>AppRole method: the role_id.</summary>
    public string? RoleId { get; set; }

    /// <summary>AppRole method: the secret_id. Give this or <see cref="SecretIdFile"/>.</summary>
    public string? SecretId { get; set; }

    /// <summary>AppRole method: a file holding the secret_id, read at every login (so it can be rotated in place).</summary>
    public string? SecretIdFile { get; set; }

    /// <summary>Kubernetes method: the Vault role bound to the pod's service account.</summary>
    public string? Role { get; set; }

    /// <summary>Kubernetes method: the service-account JWT file, read at every login. Default <see cref="DefaultJwtPath"/>.</summary>
    public string? JwtPath { get; set; }

    /// <summary>Where the auth method is mounted. Default <c>approle</c> for AppRole, <c>kubernetes</c> for Kubernetes.</summary>
    public string? MountPath { get; set; }
}
