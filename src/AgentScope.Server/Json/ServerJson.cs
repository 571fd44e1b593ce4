using System.Text.Json;
using System.Text.Json.Serialization;
using AgentScope.Audit;

namespace AgentScope.Server.Json;

/// <summary>
/// Source-generated JSON for every request and response (no reflection, AOT-friendly). Strict on input: exact camelCase
/// names, no unknown or duplicate fields, no numbers in strings, no nulls where a value is required.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoreRequest))]
[JsonSerializable(typeof(BatchGetRequest))]
[JsonSerializable(typeof(CreateAgentRequest))]
[JsonSerializable(typeof(RotateKeyRequest))]
[JsonSerializable(typeof(SweepRequest))]
[JsonSerializable(typeof(AgentPolicy))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(StoreResponse))]
[JsonSerializable(typeof(SecretResponse))]
[JsonSerializable(typeof(LabelsResponse))]
[JsonSerializable(typeof(TotpResponse))]
[JsonSerializable(typeof(BatchGetResponse))]
[JsonSerializable(typeof(CreatedAgentResponse))]
[JsonSerializable(typeof(ApiKeyResponse))]
[JsonSerializable(typeof(AgentResponse))]
[JsonSerializable(typeof(AgentsResponse))]
[JsonSerializable(typeof(RevokeResponse))]
[JsonSerializable(typeof(SweepResponse))]
[JsonSerializable(typeof(AuditEventsResponse))]
[JsonSerializable(typeof(AuditEvent))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(Injection.InjectedRequestBody))]
[JsonSerializable(typeof(AgentScope.Injection.InjectedResponse))]
internal sealed partial class ServerJson : JsonSerializerContext;
