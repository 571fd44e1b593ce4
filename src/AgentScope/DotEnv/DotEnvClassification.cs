namespace AgentScope.DotEnv;

/// <summary>Whether a <c>.env</c> variable holds a secret or plain configuration, and why.</summary>
/// <param name="IsSecret">True for a secret (imported by default), false for plain configuration (kept in the file).</param>
/// <param name="Signal">The rule that decided.</param>
/// <param name="Reason">A sentence for humans. It names the rule and what matched in the name or the value's format, never the value.</param>
public sealed record DotEnvClassification(bool IsSecret, DotEnvSignal Signal, string Reason);

/// <summary>The rule that decided a <see cref="DotEnvClassification"/>, in the order the rules are tried.</summary>
public enum DotEnvSignal
{
    /// <summary>The value is empty: nothing to protect (configuration).</summary>
    EmptyValue,
    /// <summary>The value has the format of a known credential (<c>sk_live_</c>, <c>ghp_</c>, a JWT, a private key block, a URL with a password...): secret.</summary>
    SecretFormat,
    /// <summary>The value has the format of something public by design (a Stripe publishable key, a certificate, an SSH public key): configuration.</summary>
    PublicFormat,
    /// <summary>The name says the value is public (<c>PUBLIC</c>, <c>PUBLISHABLE</c>, e.g. <c>NEXT_PUBLIC_*</c>): configuration.</summary>
    PublicName,
    /// <summary>The name contains a secret word (<c>KEY</c>, <c>SECRET</c>, <c>TOKEN</c>, <c>PASSWORD</c>...): secret.</summary>
    SecretName,
    /// <summary>
    /// The name contains a secret word but describes something about a secret rather than the secret itself
    /// (<c>..._ID</c>, <c>..._PATH</c>, <c>..._URL</c>, <c>..._TTL</c>...), or its value is a boolean flag: configuration.
    /// </summary>
    DescriptiveName,
    /// <summary>The value looks random (high Shannon entropy, no word structure): secret.</summary>
    Entropy,
    /// <summary>Nothing suggests a secret: configuration.</summary>
    None,
}
