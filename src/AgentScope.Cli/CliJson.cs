using System.Text.Json;
using System.Text.Json.Serialization;
using AgentScope.Audit;

namespace AgentScope.Cli;

/// <summary>Source-generated JSON for <c>--json</c> output.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(AgentInfo))]
[JsonSerializable(typeof(List<AgentInfo>))]
[JsonSerializable(typeof(AgentPolicy))]
[JsonSerializable(typeof(SecretJson))]
[JsonSerializable(typeof(LabelsJson))]
[JsonSerializable(typeof(TotpCode))]
[JsonSerializable(typeof(SweepReport))]
[JsonSerializable(typeof(AuditEvent))]
[JsonSerializable(typeof(AuditVerification))]
[JsonSerializable(typeof(RevokeJson))]
[JsonSerializable(typeof(ImportEnv.ImportEnvJson))]
internal sealed partial class CliJson : JsonSerializerContext
{
    /// <summary>One object per line, for JSON-lines output.</summary>
    public static CliJson Compact { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    });
}

internal sealed record SecretJson(string Label, string Value, string Kind, long Version, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

internal sealed record LabelsJson(IReadOnlyList<SecretInfo> Labels);

internal sealed record RevokeJson(string Id, int Destroyed);
