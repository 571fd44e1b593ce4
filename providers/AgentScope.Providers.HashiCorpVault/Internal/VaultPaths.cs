using AgentScope.Backends;

namespace AgentScope.Providers.HashiCorpVault.Internal;

/// <summary>
/// Maps (namespace, label) to KV v2 paths: <c>&lt;mount&gt;/data/&lt;root&gt;/agents/&lt;ns&gt;/&lt;label&gt;</c> for values and
/// <c>&lt;mount&gt;/metadata/...</c> for metadata, listing and destroy. The registry namespace is the folder
/// <c>agents/_registry</c>: no agent id may start with '_', so it cannot collide, and one LIST of <c>agents/</c> finds it
/// with every agent.
/// </summary>
internal sealed class VaultPaths(string mount, string root)
{
    public string Data(EntryKey key) => $"{mount}/data/{root}/agents/{key.Namespace}/{key.Label}";

    public string Metadata(EntryKey key) => $"{mount}/metadata/{root}/agents/{key.Namespace}/{key.Label}";

    public string ListNamespace(string ns) => $"{mount}/metadata/{root}/agents/{ns}/";

    public string ListAgents { get; } = $"{mount}/metadata/{root}/agents/";

    /// <summary>The policy path that grants data operations, for messages that name what the policy lacks.</summary>
    public string DataPolicyPath { get; } = $"{mount}/data/{root}/agents/*";

    /// <summary>The policy path that grants metadata, list and destroy operations.</summary>
    public string MetadataPolicyPath { get; } = $"{mount}/metadata/{root}/agents/*";

    /// <summary>Keys must be in the grammar so that no input can traverse out of the agent's folder.</summary>
    public static void Validate(EntryKey key)
    {
        if (!IsNamespace(key.Namespace))
        {
            throw AgentScopeException.InvalidInput($"invalid namespace {Describe(key.Namespace)}");
        }

        if (!Names.IsValidLabel(key.Label))
        {
            throw AgentScopeException.InvalidInput($"invalid label {Describe(key.Label)}");
        }
    }

    public static bool IsNamespace(string? ns) => ns == EntryKey.RegistryNamespace || Names.IsValidAgentId(ns);

    private static string Describe(string? s) => s is null ? "(none)" : "'" + string.Concat(s.Take(64).Select(c => char.IsControl(c) ? '?' : c)) + "'";
}
