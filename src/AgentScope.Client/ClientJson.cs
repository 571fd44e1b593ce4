using System.Text.Json;
using System.Text.Json.Serialization;
using AgentScope.Injection;

namespace AgentScope.Client;

// The /v0/vault wire shapes. Responses are read leniently (unknown fields ignored) so newer servers stay compatible.
internal sealed record StoreRequest(string Label, string Value, string? Kind, DateTimeOffset? ExpiresAt);
internal sealed record StoreResponse(string Label, long Version, DateTimeOffset UpdatedAt);
internal sealed record SecretResponse(string Label, string Value, long Version, DateTimeOffset UpdatedAt, string? Kind = null, DateTimeOffset? ExpiresAt = null);
internal sealed record LabelsResponse(List<VaultLabel> Labels);
internal sealed record TotpResponse(string Code, int Remaining);
internal sealed record BatchGetRequest(List<string>? Labels);
internal sealed record BatchGetResponse(List<SecretResponse>? Values, List<BatchError>? Errors);
internal sealed record BatchError(string Label, ErrorBody Error);
internal sealed record ErrorBody(string Code, string Message);
internal sealed record ErrorEnvelope(ErrorBody? Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoreRequest))]
[JsonSerializable(typeof(StoreResponse))]
[JsonSerializable(typeof(SecretResponse))]
[JsonSerializable(typeof(LabelsResponse))]
[JsonSerializable(typeof(TotpResponse))]
[JsonSerializable(typeof(BatchGetRequest))]
[JsonSerializable(typeof(BatchGetResponse))]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(InjectedRequest))]
[JsonSerializable(typeof(InjectedResponse))]
internal sealed partial class ClientJson : JsonSerializerContext;
