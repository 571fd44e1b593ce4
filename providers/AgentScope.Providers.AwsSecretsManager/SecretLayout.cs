using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AgentScope.Backends;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// How an entry looks in Secrets Manager.
/// <list type="bullet">
/// <item>Name <c>{prefix}/{namespace}/{label}</c>: agent ids and labels only use characters AWS names allow.</item>
/// <item>SecretString: a JSON envelope holding the value and all its metadata, so one GetSecretValue reads both, atomically.
/// The value is kept as readable text when it is UTF-8 that fits, and as base64 when it is ciphertext or would not fit.</item>
/// <item>Tags: the managed marker, the coordinate and a copy of the metadata, so listing needs no value reads. Tags change
/// after the value on an overwrite (PutSecretValue, then TagResource): the envelope is authoritative.</item>
/// </list>
/// </summary>
internal sealed class SecretLayout
{
    /// <summary>AWS's SecretString quota, in bytes. It applies to the whole envelope.</summary>
    internal const int SecretStringMaxBytes = 65_536;

    internal const string TagManaged = "agentscope:managed";
    internal const string TagAgent = "agentscope:agent";
    internal const string TagLabel = "agentscope:label";
    internal const string TagKind = "agentscope:kind";
    internal const string TagVersion = "agentscope:version";
    internal const string TagCreated = "agentscope:created";
    internal const string TagUpdated = "agentscope:updated";
    internal const string TagExpires = "agentscope:expires";
    internal const string TagEncrypted = "agentscope:encrypted";

    private const int EnvelopeFormat = 1;
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The largest value that fits whatever it holds: the worst-case envelope (longest namespace and label, every field
    /// at its widest) with the value in base64, the widest encoding used.
    /// </summary>
    internal static readonly int MaxValueBytes = ComputeMaxValueBytes();

    private readonly string _prefix;

    internal SecretLayout(string prefix) => _prefix = prefix;

    internal string Prefix => _prefix;

    /// <summary>The name filter that selects exactly one namespace (the trailing '/' keeps <c>alpha</c> from matching <c>alpha-2</c>).</summary>
    internal string NamespacePrefix(string ns) => $"{_prefix}/{ns}/";

    internal string AllPrefix => _prefix + "/";

    internal string Name(EntryKey key) => $"{_prefix}/{key.Namespace}/{key.Label}";

    internal static bool IsValidNamespace(string? ns) => ns == EntryKey.RegistryNamespace || Names.IsValidAgentId(ns);

    /// <summary>Recovers the coordinate from a name of exactly this layout; anything else (another prefix, nesting) is not ours.</summary>
    internal bool TryParseName(string? name, out EntryKey key)
    {
        key = default;
        if (name is null || !name.StartsWith(AllPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = name.AsSpan(AllPrefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        var ns = rest[..slash].ToString();
        var label = rest[(slash + 1)..].ToString();
        if (!IsValidNamespace(ns) || !Names.IsValidLabel(label))
        {
            return false;
        }

        key = new EntryKey(ns, label);
        return true;
    }

    internal static string Description(EntryKey key) => key.IsRegistry
        ? $"AgentScope registry record '{key.Label}'. Managed by AgentScope: do not edit."
        : $"AgentScope secret '{key.Label}' of agent '{key.Namespace}'. Managed by AgentScope: change it through AgentScope.";

    internal static List<Tag> Tags(EntryMetadata m) =>
    [
        new(TagManaged, "true"),
        new(TagAgent, m.Key.Namespace),
        new(TagLabel, m.Key.Label),
        new(TagKind, KindName(m.Kind)),
        new(TagVersion, m.Version.ToString(CultureInfo.InvariantCulture)),
        new(TagCreated, Timestamp(m.CreatedAt)),
        new(TagUpdated, Timestamp(m.UpdatedAt)),
        new(TagExpires, m.ExpiresAt is { } e ? Timestamp(e) : string.Empty),
        new(TagEncrypted, m.Encrypted ? "true" : "false"),
    ];

    internal static bool IsManaged(IReadOnlyList<Tag>? tags) => tags is not null && tags.Any(t => t.Key == TagManaged && t.Value == "true");

    /// <summary>Metadata from the tags of a listed secret, or null when they are missing or disagree with the name.</summary>
    internal static EntryMetadata? MetadataFromTags(EntryKey key, IReadOnlyList<Tag>? tags)
    {
        if (tags is null)
        {
            return null;
        }

        string? Get(string k) => tags.FirstOrDefault(t => t.Key == k)?.Value;
        if (Get(TagManaged) != "true" || Get(TagAgent) != key.Namespace || Get(TagLabel) != key.Label
            || !TryParseKind(Get(TagKind), out var kind)
            || !long.TryParse(Get(TagVersion), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !TryParseTimestamp(Get(TagCreated), out var created)
            || !TryParseTimestamp(Get(TagUpdated), out var updated)
            || Get(TagExpires) is not { } expiresText
            || Get(TagEncrypted) is not ("true" or "false"))
        {
            return null;
        }

        DateTimeOffset? expires = null;
        if (expiresText.Length > 0)
        {
            if (!TryParseTimestamp(expiresText, out var e))
            {
                return null;
            }

            expires = e;
        }

        return new EntryMetadata(key, kind, version, created, updated, expires, Get(TagEncrypted) == "true");
    }

    /// <summary>Writes the envelope, or null when even base64 would not fit (the value is over <see cref="MaxValueBytes"/>).</summary>
    internal static string? Envelope(BackendEntry entry)
    {
        if (!entry.Metadata.Encrypted && TryDecodeUtf8(entry.Value, out var text))
        {
            var plain = WriteEnvelope(entry.Metadata, "utf8", text);
            if (Encoding.UTF8.GetByteCount(plain) <= SecretStringMaxBytes)
            {
                return plain;
            }
        }

        var b64 = WriteEnvelope(entry.Metadata, "base64", Convert.ToBase64String(entry.Value));
        return Encoding.UTF8.GetByteCount(b64) <= SecretStringMaxBytes ? b64 : null;
    }

    /// <summary>Reads an envelope back; null when the SecretString is not one (edited outside AgentScope) or names another coordinate.</summary>
    internal static BackendEntry? ReadEnvelope(EntryKey expected, string secretString)
    {
        // Every get comes through here, so the envelope is read in one pass over its UTF-8 instead of through a JsonDocument.
        const int StackLimit = 2048;
        var max = Encoding.UTF8.GetMaxByteCount(secretString.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        var length = Encoding.UTF8.GetBytes(secretString, buffer);
        try
        {
            return ReadEnvelope(expected, buffer[..length]);
        }
        finally
        {
            // The buffer held the value.
            buffer[..length].Clear();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The envelope's rules, as <see cref="JsonDocument"/> would apply them: one JSON object and nothing after it; when a
    /// member is repeated, the last one counts; other members are ignored.
    /// </summary>
    private static BackendEntry? ReadEnvelope(EntryKey expected, ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            bool format = false, ns = false, label = false, kindOk = false, versionOk = false, createdOk = false, updatedOk = false, expiresOk = true;
            bool? encrypted = null;
            SecretKind kind = default;
            long version = 0;
            DateTimeOffset created = default, updated = default;
            DateTimeOffset? expires = null;
            var encoding = ValueEncoding.None;
            var hasValue = false;
            var value = default(Utf8JsonReader);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = Property(ref reader);
                reader.Read();
                var isString = reader.TokenType == JsonTokenType.String;
                switch (property)
                {
                    case EnvelopeProperty.Format:
                        format = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var f) && f == EnvelopeFormat;
                        break;
                    case EnvelopeProperty.Namespace:
                        ns = isString && reader.ValueTextEquals(expected.Namespace);
                        break;
                    case EnvelopeProperty.Label:
                        label = isString && reader.ValueTextEquals(expected.Label);
                        break;
                    case EnvelopeProperty.Kind:
                        kindOk = isString && TryParseKind(ref reader, out kind);
                        break;
                    case EnvelopeProperty.Version:
                        versionOk = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out version);
                        break;
                    case EnvelopeProperty.Created:
                        createdOk = isString && TryParseTimestamp(ref reader, out created);
                        break;
                    case EnvelopeProperty.Updated:
                        updatedOk = isString && TryParseTimestamp(ref reader, out updated);
                        break;
                    case EnvelopeProperty.Expires:
                        expires = null;
                        expiresOk = reader.TokenType == JsonTokenType.Null;
                        if (isString && TryParseTimestamp(ref reader, out var e))
                        {
                            expires = e;
                            expiresOk = true;
                        }

                        break;
                    case EnvelopeProperty.Encrypted:
                        encrypted = reader.TokenType switch { JsonTokenType.True => true, JsonTokenType.False => false, _ => null };
                        break;
                    case EnvelopeProperty.Encoding:
                        encoding = !isString ? ValueEncoding.None
                            : reader.ValueTextEquals("utf8"u8) ? ValueEncoding.Utf8
                            : reader.ValueTextEquals("base64"u8) ? ValueEncoding.Base64
                            : ValueEncoding.None;
                        break;
                    case EnvelopeProperty.Value:
                        // Decoded once the encoding is known (it may come later): the reader, copied, still points at it.
                        hasValue = isString;
                        value = reader;
                        break;
                }

                reader.Skip(); // past a nested object or array; nothing for a single value
            }

            // The object is closed and nothing but whitespace follows it (a second value throws).
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return null;
            }

            if (!format || !ns || !label || !kindOk || !versionOk || !createdOk || !updatedOk || !expiresOk || encrypted is not { } isEncrypted
                || !hasValue || encoding == ValueEncoding.None)
            {
                return null;
            }

            // Unescaped, the value's bytes are already its UTF-8 (valid: they were transcoded from a string).
            var bytes = encoding == ValueEncoding.Base64
                ? Convert.FromBase64String(value.GetString()!)
                : value.ValueIsEscaped ? Encoding.UTF8.GetBytes(value.GetString()!) : value.ValueSpan.ToArray();
            return new BackendEntry(new EntryMetadata(expected, kind, version, created, updated, expires, isEncrypted), bytes);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private enum EnvelopeProperty
    {
        Other,
        Format,
        Namespace,
        Label,
        Kind,
        Version,
        Created,
        Updated,
        Expires,
        Encrypted,
        Encoding,
        Value,
    }

    private enum ValueEncoding
    {
        None,
        Utf8,
        Base64,
    }

    private static EnvelopeProperty Property(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("agentscope"u8) ? EnvelopeProperty.Format
        : reader.ValueTextEquals("ns"u8) ? EnvelopeProperty.Namespace
        : reader.ValueTextEquals("label"u8) ? EnvelopeProperty.Label
        : reader.ValueTextEquals("kind"u8) ? EnvelopeProperty.Kind
        : reader.ValueTextEquals("version"u8) ? EnvelopeProperty.Version
        : reader.ValueTextEquals("created"u8) ? EnvelopeProperty.Created
        : reader.ValueTextEquals("updated"u8) ? EnvelopeProperty.Updated
        : reader.ValueTextEquals("expires"u8) ? EnvelopeProperty.Expires
        : reader.ValueTextEquals("encrypted"u8) ? EnvelopeProperty.Encrypted
        : reader.ValueTextEquals("encoding"u8) ? EnvelopeProperty.Encoding
        : reader.ValueTextEquals("value"u8) ? EnvelopeProperty.Value
        : EnvelopeProperty.Other;

    private static bool TryParseKind(ref Utf8JsonReader reader, out SecretKind kind)
    {
        (var ok, kind) = reader.ValueTextEquals("generic"u8) ? (true, SecretKind.Generic)
            : reader.ValueTextEquals("totp"u8) ? (true, SecretKind.Totp)
            : reader.ValueTextEquals("registry"u8) ? (true, SecretKind.Registry)
            : (false, SecretKind.Generic);
        return ok;
    }

    private static bool TryParseTimestamp(ref Utf8JsonReader reader, out DateTimeOffset t)
    {
        // A round-trip timestamp is 33 characters; anything much longer is not one (and would not fit the buffer).
        Span<char> text = stackalloc char[64];
        if (reader.ValueSpan.Length > text.Length)
        {
            t = default;
            return false;
        }

        return DateTimeOffset.TryParseExact(text[..reader.CopyString(text)], "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out t);
    }

    internal static string KindName(SecretKind kind) => kind switch
    {
        SecretKind.Generic => "generic",
        SecretKind.Totp => "totp",
        SecretKind.Registry => "registry",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static bool TryParseKind(string? text, out SecretKind kind)
    {
        (var ok, kind) = text switch
        {
            "generic" => (true, SecretKind.Generic),
            "totp" => (true, SecretKind.Totp),
            "registry" => (true, SecretKind.Registry),
            _ => (false, SecretKind.Generic),
        };
        return ok;
    }

    // Round-trip ("O") format in UTC: always 33 characters, exact to the tick, and only characters tags allow.
    internal static string Timestamp(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static bool TryParseTimestamp(string? text, out DateTimeOffset t) =>
        DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out t);

    private static bool TryDecodeUtf8(byte[] bytes, out string text)
    {
        try
        {
            text = StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = string.Empty;
            return false;
        }
    }

    private static string WriteEnvelope(EntryMetadata m, string encoding, string value)
    {
        var buffer = new ArrayBufferWriter<byte>(value.Length + 512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("agentscope", EnvelopeFormat);
            w.WriteString("ns", m.Key.Namespace);
            w.WriteString("label", m.Key.Label);
            w.WriteString("kind", KindName(m.Kind));
            w.WriteNumber("version", m.Version);
            w.WriteString("created", Timestamp(m.CreatedAt));
            w.WriteString("updated", Timestamp(m.UpdatedAt));
            if (m.ExpiresAt is { } e)
            {
                w.WriteString("expires", Timestamp(e));
            }
            else
            {
                w.WriteNull("expires");
            }

            w.WriteBoolean("encrypted", m.Encrypted);
            w.WriteString("encoding", encoding);
            w.WriteString("value", value);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static int ComputeMaxValueBytes()
    {
        var widest = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var key = new EntryKey(new string('a', Names.MaxAgentIdLength), new string('a', Names.MaxLabelLength));
        var m = new EntryMetadata(key, SecretKind.Registry, long.MinValue, widest, widest, widest, Encrypted: false);
        var overhead = Encoding.UTF8.GetByteCount(WriteEnvelope(m, "base64", string.Empty));
        return (SecretStringMaxBytes - overhead) / 4 * 3;
    }
}
