using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentScope.Providers.HashiCorpVault.Internal;

// The shapes of the documented Vault HTTP API that the provider uses (api-docs: secret/kv/kv-v2, auth/approle,
// auth/kubernetes, auth/token, system/health, and the common error body {"errors": [...]}).

internal sealed class VaultErrorBody
{
    public List<string>? Errors { get; set; }
}

internal sealed class KvWriteRequest
{
    public required Dictionary<string, string> Data { get; set; }
    public KvWriteOptions? Options { get; set; }
}

internal sealed class KvWriteOptions
{
    public long Cas { get; set; }
}

internal sealed class KvWriteResponse
{
    public KvVersionMetadata? Data { get; set; }
}

internal sealed class KvVersionMetadata
{
    public long Version { get; set; }
    public string? CreatedTime { get; set; }
    public Dictionary<string, string>? CustomMetadata { get; set; }
}

[JsonConverter(typeof(KvReadResponseConverter))]
internal sealed class KvReadResponse
{
    public KvReadData? Data { get; set; }
}

internal sealed class KvReadData
{
    /// <summary>The data map's string values; values of other JSON types (written by hand outside AgentScope) are left out.</summary>
    [JsonConverter(typeof(StringValuesConverter))]
    public Dictionary<string, string>? Data { get; set; }

    public KvVersionMetadata? Metadata { get; set; }
}

/// <summary>
/// Reads GET data/:path straight from the reader, keeping only what a read uses: <c>data.data</c> (string values) and
/// <c>data.metadata.version</c> and <c>created_time</c>. Everything else (the envelope, <c>custom_metadata</c>, which
/// repeats the metadata) is skipped without being materialised: the generated serializer spent more time on this body than
/// the loopback round trip that fetched it.
/// </summary>
internal sealed class KvReadResponseConverter : JsonConverter<KvReadResponse>
{
    public override KvReadResponse? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        var response = new KvReadResponse();
        ExpectObject(ref reader);
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("data"u8) && Next(ref reader) == JsonTokenType.StartObject)
            {
                response.Data = ReadData(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return response;
    }

    public override void Write(Utf8JsonWriter writer, KvReadResponse value, JsonSerializerOptions options) =>
        throw new NotSupportedException("only read");

    private static KvReadData ReadData(ref Utf8JsonReader reader)
    {
        var data = new KvReadData();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("data"u8))
            {
                Next(ref reader);
                data.Data = StringValuesConverter.ReadMap(ref reader);
            }
            else if (reader.ValueTextEquals("metadata"u8) && Next(ref reader) == JsonTokenType.StartObject)
            {
                data.Metadata = ReadVersionMetadata(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return data;
    }

    private static KvVersionMetadata ReadVersionMetadata(ref Utf8JsonReader reader)
    {
        var metadata = new KvVersionMetadata();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("version"u8) && Next(ref reader) == JsonTokenType.Number)
            {
                metadata.Version = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("created_time"u8) && Next(ref reader) == JsonTokenType.String)
            {
                metadata.CreatedTime = reader.GetString();
            }
            else
            {
                // Either a member not read here (its name is current: step onto the value), or a read member with an
                // unexpected type (already on the value).
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    Next(ref reader);
                }

                reader.Skip();
            }
        }

        return metadata;
    }

    private static void ExpectObject(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected a JSON object");
        }
    }

    // On a property name: skips its value (of any type).
    private static void SkipValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.PropertyName)
        {
            Next(ref reader);
        }

        reader.Skip();
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("unexpected end of JSON");
}

/// <summary>
/// Reads a JSON object keeping only its string values, straight from the reader: a <c>Dictionary&lt;string, JsonElement&gt;</c>
/// would parse a <see cref="JsonDocument"/> per value, which was most of what a read cost on top of the HTTP call.
/// </summary>
internal sealed class StringValuesConverter : JsonConverter<Dictionary<string, string>>
{
    public override Dictionary<string, string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadMap(ref reader);

    public override void Write(Utf8JsonWriter writer, Dictionary<string, string> value, JsonSerializerOptions options) =>
        throw new NotSupportedException("only read");

    internal static Dictionary<string, string>? ReadMap(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected a JSON object");
        }

        // Sized for AgentScope's data map (eleven keys), so reading one does not grow the table three times.
        var map = new Dictionary<string, string>(16, StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (reader.TokenType == JsonTokenType.String)
            {
                map[name] = reader.GetString()!;
            }
            else
            {
                reader.Skip();
            }
        }

        return map;
    }
}

internal sealed class KvMetadataWriteRequest
{
    public required Dictionary<string, string> CustomMetadata { get; set; }
}

internal sealed class KvMetadataResponse
{
    public KvMetadata? Data { get; set; }
}

internal sealed class KvMetadata
{
    public long CurrentVersion { get; set; }
    public string? CreatedTime { get; set; }
    public string? UpdatedTime { get; set; }
    public Dictionary<string, string>? CustomMetadata { get; set; }
}

internal sealed class ListResponse
{
    public ListData? Data { get; set; }
}

internal sealed class ListData
{
    public List<string>? Keys { get; set; }
}

internal sealed class AppRoleLoginRequest
{
    public required string RoleId { get; set; }
    public required string SecretId { get; set; }
}

internal sealed class KubernetesLoginRequest
{
    public required string Role { get; set; }
    public required string Jwt { get; set; }
}

internal sealed class EmptyRequest;

internal sealed class AuthResponse
{
    public AuthData? Auth { get; set; }
}

internal sealed class AuthData
{
    public string? ClientToken { get; set; }
    public long LeaseDuration { get; set; }
    public bool Renewable { get; set; }
}

internal sealed class TokenLookupResponse
{
    public TokenLookupData? Data { get; set; }
}

internal sealed class TokenLookupData
{
    public long Ttl { get; set; }
    public bool Renewable { get; set; }
}

internal sealed class HealthResponse
{
    public bool Initialized { get; set; }
    public bool Sealed { get; set; }
    public bool Standby { get; set; }
    public string? Version { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VaultErrorBody))]
[JsonSerializable(typeof(KvWriteRequest))]
[JsonSerializable(typeof(KvWriteResponse))]
[JsonSerializable(typeof(KvReadResponse))]
[JsonSerializable(typeof(KvMetadataWriteRequest))]
[JsonSerializable(typeof(KvMetadataResponse))]
[JsonSerializable(typeof(ListResponse))]
[JsonSerializable(typeof(AppRoleLoginRequest))]
[JsonSerializable(typeof(KubernetesLoginRequest))]
[JsonSerializable(typeof(EmptyRequest))]
[JsonSerializable(typeof(AuthResponse))]
[JsonSerializable(typeof(TokenLookupResponse))]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class VaultJsonContext : JsonSerializerContext;
