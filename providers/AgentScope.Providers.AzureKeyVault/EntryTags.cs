using System.Globalization;
using AgentScope.Backends;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>
/// The tags that carry an entry's logical coordinate and metadata, so enumeration (which returns tags, never values) can
/// recover them. Nine tags at most, well inside Key Vault's limit of 15 per secret; every value is at most 128
/// characters (labels), inside the 256-character tag value limit.
/// </summary>
internal static class EntryTags
{
    /// <summary>Marks a secret as AgentScope's; the value is the tag schema version.</summary>
    public const string Managed = "agentscope-managed";
    public const string Namespace = "agentscope-namespace";
    public const string Label = "agentscope-label";
    public const string Kind = "agentscope-kind";
    public const string Version = "agentscope-version";
    public const string Created = "agentscope-created";
    public const string Updated = "agentscope-updated";
    public const string Expires = "agentscope-expires";
    public const string Encrypted = "agentscope-encrypted";

    public const string SchemaVersion = "1";

    /// <summary>The tags of <paramref name="metadata"/>.</summary>
    public static Dictionary<string, string> From(EntryMetadata metadata)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Managed] = SchemaVersion,
            [Namespace] = metadata.Key.Namespace,
            [Label] = metadata.Key.Label,
            [Kind] = metadata.Kind.ToString().ToLowerInvariant(),
            [Version] = metadata.Version.ToString(CultureInfo.InvariantCulture),
            [Created] = Format(metadata.CreatedAt),
            [Updated] = Format(metadata.UpdatedAt),
            [Encrypted] = metadata.Encrypted ? "true" : "false",
        };
        if (metadata.ExpiresAt is { } expires)
        {
            tags[Expires] = Format(expires);
        }

        return tags;
    }

    /// <summary>Reads the metadata back; false when the tags are not a complete, well-formed AgentScope set.</summary>
    public static bool TryParse(IDictionary<string, string>? tags, out EntryMetadata metadata)
    {
        metadata = null!;
        if (tags is null
            || !tags.TryGetValue(Managed, out var schema) || schema != SchemaVersion
            || !tags.TryGetValue(Namespace, out var ns) || string.IsNullOrEmpty(ns)
            || !tags.TryGetValue(Label, out var label) || string.IsNullOrEmpty(label)
            || !tags.TryGetValue(Kind, out var kindText) || !TryParseKind(kindText, out var kind)
            || !tags.TryGetValue(Version, out var versionText)
            || !long.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !TryParseTime(tags, Created, out var created)
            || !TryParseTime(tags, Updated, out var updated)
            || !tags.TryGetValue(Encrypted, out var encryptedText) || encryptedText is not ("true" or "false"))
        {
            return false;
        }

        DateTimeOffset? expires = null;
        if (tags.ContainsKey(Expires))
        {
            if (!TryParseTime(tags, Expires, out var e))
            {
                return false;
            }

            expires = e;
        }

        metadata = new EntryMetadata(new EntryKey(ns, label), kind, version, created, updated, expires, encryptedText == "true");
        return true;
    }

    private static bool TryParseKind(string text, out SecretKind kind)
    {
        foreach (var k in Enum.GetValues<SecretKind>())
        {
            if (string.Equals(k.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                kind = k;
                return true;
            }
        }

        kind = default;
        return false;
    }

    // Round-trip format with offset: exact to the tick, and readable in the portal.
    private static string Format(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    private static bool TryParseTime(IDictionary<string, string> tags, string name, out DateTimeOffset value)
    {
        value = default;
        return tags.TryGetValue(name, out var text)
            && DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }
}
