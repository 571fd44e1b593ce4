using System.Globalization;
using System.Text;
using AgentScope.Backends;

namespace AgentScope.Providers.HashiCorpVault.Internal;

/// <summary>
/// How an entry is laid out in Vault. The KV data map holds the value and a copy of AgentScope's metadata: the data write
/// is one atomic, versioned operation, so a read always sees a value with the metadata it was written with (the cipher's
/// associated data binds the version). The same metadata also goes to <c>custom_metadata</c>, which LIST plus a metadata
/// read can enumerate without reading any value. Vault limits custom_metadata to 64 keys, keys of at most 128 bytes and
/// values of at most 512 bytes; the nine keys below stay far inside that (labels are at most 128 ASCII characters).
/// </summary>
internal static class EntryCodec
{
    public const string ManagedBy = "agentscope";

    public const string KeyManagedBy = "managed-by";
    public const string KeyAgent = "agent";
    public const string KeyLabel = "label";
    public const string KeyKind = "kind";
    public const string KeyVersion = "version";
    public const string KeyCreated = "created";
    public const string KeyUpdated = "updated";
    public const string KeyExpires = "expires";
    public const string KeyEncrypted = "encrypted";
    public const string KeyValue = "value";
    public const string KeyEncoding = "encoding";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static Dictionary<string, string> CustomMetadata(EntryMetadata m)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KeyManagedBy] = ManagedBy,
            [KeyAgent] = m.Key.Namespace,
            [KeyLabel] = m.Key.Label,
            [KeyKind] = m.Kind.ToString().ToLowerInvariant(),
            [KeyVersion] = m.Version.ToString(CultureInfo.InvariantCulture),
            [KeyCreated] = m.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
            [KeyUpdated] = m.UpdatedAt.ToString("O", CultureInfo.InvariantCulture),
            [KeyEncrypted] = m.Encrypted ? "true" : "false",
        };
        if (m.ExpiresAt is { } expires)
        {
            map[KeyExpires] = expires.ToString("O", CultureInfo.InvariantCulture);
        }

        return map;
    }

    /// <summary>The data map: the value (UTF-8 text, or base64 when encrypted or not valid UTF-8) and the metadata copy.</summary>
    public static Dictionary<string, string> Data(BackendEntry entry)
    {
        var map = CustomMetadata(entry.Metadata);
        string? text = null;
        if (!entry.Metadata.Encrypted)
        {
            try
            {
                text = StrictUtf8.GetString(entry.Value);
            }
            catch (DecoderFallbackException)
            {
                text = null;
            }
        }

        map[KeyValue] = text ?? Convert.ToBase64String(entry.Value);
        map[KeyEncoding] = text is null ? "base64" : "utf8";
        return map;
    }

    /// <summary>Metadata from one of the maps above; null when the map is not AgentScope's or is damaged.</summary>
    public static EntryMetadata? Parse(EntryKey key, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null || !map.TryGetValue(KeyManagedBy, out var managed) || managed != ManagedBy)
        {
            return null;
        }

        if (!map.TryGetValue(KeyKind, out var kindText) || !Enum.TryParse<SecretKind>(kindText, ignoreCase: true, out var kind)
            || !Enum.IsDefined(kind) || kindText.Length == 0 || char.IsAsciiDigit(kindText[0])
            || !map.TryGetValue(KeyVersion, out var versionText) || !long.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !TryTime(map, KeyCreated, out var created) || !TryTime(map, KeyUpdated, out var updated))
        {
            return null;
        }

        DateTimeOffset? expires = null;
        if (map.ContainsKey(KeyExpires))
        {
            if (!TryTime(map, KeyExpires, out var e))
            {
                return null;
            }

            expires = e;
        }

        var encrypted = map.TryGetValue(KeyEncrypted, out var enc) && enc == "true";
        return new EntryMetadata(key, kind, version, created, updated, expires, encrypted);
    }

    /// <summary>The stored bytes of a data map, or null when it holds no value AgentScope can read.</summary>
    public static byte[]? Value(IReadOnlyDictionary<string, string> data)
    {
        if (!data.TryGetValue(KeyValue, out var value))
        {
            return null;
        }

        if (data.TryGetValue(KeyEncoding, out var encoding) && encoding == "base64")
        {
            try
            {
                return Convert.FromBase64String(value);
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return Encoding.UTF8.GetBytes(value);
    }

    /// <summary>Parses Vault's RFC 3339 timestamps (nanosecond precision is cut to what DateTimeOffset holds).</summary>
    public static DateTimeOffset? VaultTime(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = text[..(dot + 8)] + text[end..];
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;
    }

    private static bool TryTime(IReadOnlyDictionary<string, string> map, string key, out DateTimeOffset value)
    {
        value = default;
        return map.TryGetValue(key, out var text)
            && DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value);
    }
}
