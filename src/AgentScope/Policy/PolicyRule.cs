using System.Text.Json.Serialization;

namespace AgentScope;

/// <summary>Whether a rule grants or takes away.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PolicyEffect>))]
public enum PolicyEffect
{
    /// <summary>Grants the operations.</summary>
    Allow,
    /// <summary>Takes the operations away, whatever else allows them.</summary>
    Deny,
}

/// <summary>One rule of an <see cref="AgentPolicy"/>.</summary>
public sealed class PolicyRule
{
    /// <summary>Label glob: <c>*</c> any run of characters, <c>?</c> one character; case-sensitive.</summary>
    public string Labels { get; set; } = "*";

    /// <summary><see cref="PolicyEffect.Allow"/> (default) or <see cref="PolicyEffect.Deny"/>.</summary>
    public PolicyEffect Effect { get; set; } = PolicyEffect.Allow;

    /// <summary>Operation names: read, write, delete, list, totp, use, or * for all.</summary>
    public List<string> Operations { get; set; } = [];

    /// <summary>After this instant the rule no longer applies.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>When true, an allowed operation also needs a justification (recorded in the audit trail).</summary>
    public bool RequireJustification { get; set; }

    /// <summary>When true, a TOTP entry's seed may be returned by read; otherwise only codes are.</summary>
    public bool RevealSeed { get; set; }

    /// <summary>When true, values may be revealed to an LLM over MCP (<c>vault.get</c>); off by default.</summary>
    public bool Reveal { get; set; }

    /// <summary>Hosts an outbound request may send these labels to (exact, or <c>*.example.com</c>).</summary>
    public List<string>? AllowedHosts { get; set; }

    /// <summary>When true, injected requests to loopback hosts may use plain http (for local development).</summary>
    public bool AllowHttpLoopback { get; set; }

    /// <summary>At most this many reads per minute for labels matching this rule.</summary>
    public int? ReadsPerMinute { get; set; }
}
