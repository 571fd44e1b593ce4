using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentScope.Agents;

/// <summary>Source-generated JSON for registry records and policies (AOT-friendly, no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(AgentRecord))]
[JsonSerializable(typeof(AdminKeysRecord))]
[JsonSerializable(typeof(AgentPolicy))]
internal sealed partial class RegistryJson : JsonSerializerContext;
