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

internal sealed class KvReadResponse
{
    public KvReadData? Data { get; set; }
}

internal sealed class KvReadData
{
    public Dictionary<string, JsonElement>? Data { get; set; }
    public KvVersionMetadata? Metadata { get; set; }
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
