namespace AgentScope.Configuration;

/// <summary>
/// Which labels load and under which configuration key, as in the Azure Key Vault provider's <c>KeyVaultSecretManager</c>:
/// by default every label loads and <c>--</c> becomes the section separator (<c>Stripe--ApiKey</c> → <c>Stripe:ApiKey</c>).
/// Subclass to change either.
/// </summary>
public class AgentScopeKeyMapper
{
    /// <summary>The default mapper.</summary>
    public static AgentScopeKeyMapper Default { get; } = new();

    /// <summary>True when the label should be loaded.</summary>
    public virtual bool Load(string label) => true;

    /// <summary>The configuration key of a label.</summary>
    public virtual string GetKey(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return label.Replace("--", Microsoft.Extensions.Configuration.ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
    }
}
