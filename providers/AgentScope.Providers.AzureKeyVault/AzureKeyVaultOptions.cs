using Azure.Core;
using Azure.Security.KeyVault.Secrets;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>
/// Settings of the Azure Key Vault backend, validated (every problem reported together) when the backend is registered
/// and again when it is constructed. Bound from the <c>Backend</c> section of <c>agentscope.json</c> by
/// <c>AddAzureKeyVault(IServiceCollection, IConfiguration)</c>; what configuration cannot hold (<see cref="Credential"/>,
/// <see cref="ConfigureClient"/>) a host adds with <c>services.PostConfigure&lt;AzureKeyVaultOptions&gt;(...)</c>.
/// </summary>
public sealed class AzureKeyVaultOptions
{
    /// <summary>The vault's URI, e.g. <c>https://contoso.vault.azure.net/</c>. Required; must be https.</summary>
    public Uri? VaultUri { get; set; }

    /// <summary>
    /// The credential used for Key Vault tokens. Null (default) uses <c>DefaultAzureCredential</c> (environment, workload
    /// identity, managed identity, Azure CLI, ...) configured with <see cref="TenantId"/> and <see cref="ManagedIdentityClientId"/>.
    /// Cannot be set from configuration: set it in code, or with <c>PostConfigure</c> after registering from configuration.
    /// </summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>The Entra tenant for <c>DefaultAzureCredential</c>; null lets the credential decide.</summary>
    public string? TenantId { get; set; }

    /// <summary>The client id of a user-assigned managed identity for <c>DefaultAzureCredential</c>; null uses the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>
    /// The first part of every secret name AgentScope creates (<c>&lt;prefix&gt;-&lt;hash&gt;</c>), so its secrets are
    /// recognisable in a shared vault and two installations can share one vault. 1-74 ASCII letters, digits or '-';
    /// Key Vault compares names case-insensitively, so it is used in lowercase. Default <c>agentscope</c>.
    /// </summary>
    public string NamePrefix { get; set; } = "agentscope";

    /// <summary>How many calls AgentScope runs at once against the vault during revoke and sweep. Default 8; 1-64.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>How the SDK's pipeline retries throttling (429, honouring Retry-After), 408, 5xx and network failures.</summary>
    public AzureKeyVaultRetryOptions Retry { get; set; } = new();

    /// <summary>
    /// How often a soft delete (and a recovery) is polled for completion before the purge. Default 1 second.
    /// </summary>
    public TimeSpan DeletePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a delete waits for the soft delete to complete before purging, and how long a write waits for a
    /// soft-deleted name to become reusable (after a purge or recovery). Default 2 minutes.
    /// </summary>
    public TimeSpan SoftDeleteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Last say over the SDK client options (proxy, diagnostics, transport), applied after AgentScope's own settings.
    /// Cannot be set from configuration: set it in code, or with <c>PostConfigure</c> after registering from configuration.
    /// </summary>
    public Action<SecretClientOptions>? ConfigureClient { get; set; }

    /// <summary>Reports every problem together as one invalid-input error.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (VaultUri is null)
        {
            problems.Add("VaultUri is required (e.g. https://contoso.vault.azure.net/)");
        }
        else if (!VaultUri.IsAbsoluteUri || VaultUri.Scheme != Uri.UriSchemeHttps)
        {
            problems.Add("VaultUri must be an absolute https URI (the Key Vault SDK sends tokens over https only)");
        }

        if (!SecretNaming.IsValidPrefix(NamePrefix))
        {
            problems.Add($"NamePrefix must be 1-{SecretNaming.MaxPrefixLength} ASCII letters, digits or '-'");
        }

        if (MaxConcurrency is < 1 or > 64)
        {
            problems.Add("MaxConcurrency must be between 1 and 64");
        }

        if (DeletePollingInterval <= TimeSpan.Zero)
        {
            problems.Add("DeletePollingInterval must be positive");
        }

        if (SoftDeleteTimeout <= TimeSpan.Zero)
        {
            problems.Add("SoftDeleteTimeout must be positive");
        }

        if (Retry is null)
        {
            problems.Add("Retry is required");
        }
        else
        {
            Retry.Validate(problems);
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid Azure Key Vault backend options: " + string.Join("; ", problems));
        }
    }
}

/// <summary>
/// Retry tuning for the SDK's pipeline (exponential mode). Key Vault throttles per vault in 10-second windows and
/// answers 429 with Retry-After, which the pipeline honours; the defaults ride out one window.
/// </summary>
public sealed class AzureKeyVaultRetryOptions
{
    /// <summary>Retries after the first attempt. Default 5; 0-20.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first backoff delay, doubled on each retry (with jitter). Default 1 second.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest backoff delay. Default 16 seconds.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(16);

    /// <summary>How long one attempt may take before it counts as a network failure. Default 30 seconds.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate(List<string> problems)
    {
        if (MaxRetries is < 0 or > 20)
        {
            problems.Add("Retry.MaxRetries must be between 0 and 20");
        }

        if (Delay <= TimeSpan.Zero)
        {
            problems.Add("Retry.Delay must be positive");
        }

        if (MaxDelay < Delay)
        {
            problems.Add("Retry.MaxDelay must not be less than Retry.Delay");
        }

        if (NetworkTimeout <= TimeSpan.Zero)
        {
            problems.Add("Retry.NetworkTimeout must be positive");
        }
    }
}
