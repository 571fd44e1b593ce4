namespace AgentScope.Providers.HashiCorpVault.Internal;

/// <summary>
/// The options after fallbacks and validation. A class, not a record: a record's generated ToString would print the token.
/// </summary>
internal sealed class VaultSettings
{
    public required Uri BaseAddress { get; init; }
    public required string Mount { get; init; }
    public required string RootPath { get; init; }
    public string? Namespace { get; init; }
    public HashiCorpVaultAuthMethod Method { get; init; }
    public string? Token { get; init; }
    public string? RoleId { get; init; }
    public string? SecretId { get; init; }
    public string? SecretIdFile { get; init; }
    public string? KubernetesRole { get; init; }
    public required string JwtPath { get; init; }
    public required string AuthMount { get; init; }
    public string? CaCertificateFile { get; init; }
    public bool SkipTlsVerify { get; init; }
    public TimeSpan Timeout { get; init; }
    public int MaxRetries { get; init; }
    public TimeSpan RetryBaseDelay { get; init; }
    public TimeSpan RateLimitWait { get; init; }
    public int MaxValueBytes { get; init; }
    public int MaxConcurrency { get; init; }

    public override string ToString() => $"Vault {BaseAddress} mount={Mount} root={RootPath} auth={Method}";
}

/// <summary>Where the <c>VAULT_*</c> fallbacks come from: the process environment, or a fixed map in tests.</summary>
internal sealed class VaultEnvironment(Func<string, string?> lookup)
{
    public static VaultEnvironment Process { get; } = new(Environment.GetEnvironmentVariable);

    public string? Get(string name) => lookup(name);
}
