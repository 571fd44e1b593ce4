namespace AgentScope;

/// <summary>What an entry holds.</summary>
public enum SecretKind
{
    /// <summary>An opaque value (API key, password, JSON document).</summary>
    Generic = 0,
    /// <summary>A TOTP seed (bare base32 or an <c>otpauth://totp/</c> URI); read as codes, not as the seed.</summary>
    Totp = 1,
    /// <summary>An AgentScope registry record (agent identity, admin keys).</summary>
    Registry = 2,
}
