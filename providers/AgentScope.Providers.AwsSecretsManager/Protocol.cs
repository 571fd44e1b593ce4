using System.Text.Json.Serialization;

namespace AgentScope.Providers.AwsSecretsManager;

// The request and response shapes of the Secrets Manager JSON protocol (awsJson1_1), as the API reference names them.
// Only the members AgentScope uses are declared; unknown response members are ignored. Responses have setters, not init:
// the generated serializer reads init-only members through its slower parameterized-constructor path.

internal sealed record Tag(string Key, string Value);

internal sealed record Filter(string Key, IReadOnlyList<string> Values);

internal sealed class CreateSecretRequest
{
    public required string Name { get; init; }
    public required string ClientRequestToken { get; init; }
    public string? Description { get; init; }
    public string? KmsKeyId { get; init; }
    public required string SecretString { get; init; }
    public required IReadOnlyList<Tag> Tags { get; init; }
}

internal sealed class PutSecretValueRequest
{
    public required string SecretId { get; init; }
    public required string ClientRequestToken { get; init; }
    public required string SecretString { get; init; }
}

internal sealed class SecretIdRequest
{
    public required string SecretId { get; init; }
}

internal sealed class DeleteSecretRequest
{
    public required string SecretId { get; init; }
    public int? RecoveryWindowInDays { get; init; }
    public bool? ForceDeleteWithoutRecovery { get; init; }
}

internal sealed class TagResourceRequest
{
    public required string SecretId { get; init; }
    public required IReadOnlyList<Tag> Tags { get; init; }
}

internal sealed class ListSecretsRequest
{
    public required IReadOnlyList<Filter> Filters { get; init; }
    public int? MaxResults { get; init; }
    public string? NextToken { get; init; }
}

/// <summary>What a read uses of GetSecretValue's answer; the other members (ARN, VersionId, ...) are skipped unread.</summary>
internal sealed class GetSecretValueResponse
{
    public string? Name { get; set; }
    public string? SecretString { get; set; }
}

internal sealed class DescribeSecretResponse
{
    public string? ARN { get; set; }
    public string? Name { get; set; }
    public double? DeletedDate { get; set; }
    public List<Tag>? Tags { get; set; }
}

internal sealed class SecretListEntry
{
    public string? ARN { get; set; }
    public string? Name { get; set; }
    public double? DeletedDate { get; set; }
    public List<Tag>? Tags { get; set; }
}

internal sealed class ListSecretsResponse
{
    public List<SecretListEntry>? SecretList { get; set; }
    public string? NextToken { get; set; }
}

internal sealed class EmptyResponse;

internal sealed class ErrorResponse
{
    [JsonPropertyName("__type")]
    public string? Type { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(CreateSecretRequest))]
[JsonSerializable(typeof(PutSecretValueRequest))]
[JsonSerializable(typeof(SecretIdRequest))]
[JsonSerializable(typeof(DeleteSecretRequest))]
[JsonSerializable(typeof(TagResourceRequest))]
[JsonSerializable(typeof(ListSecretsRequest))]
[JsonSerializable(typeof(GetSecretValueResponse))]
[JsonSerializable(typeof(DescribeSecretResponse))]
[JsonSerializable(typeof(ListSecretsResponse))]
[JsonSerializable(typeof(EmptyResponse))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class ProtocolJson : JsonSerializerContext;
