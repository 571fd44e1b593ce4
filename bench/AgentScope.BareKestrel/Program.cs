using System.Text.Json.Serialization;

// A bare Kestrel endpoint with the same shape of answer as GET /v0/vault/{label}, serialized the same way
// (source-generated System.Text.Json), and nothing else: no authentication, no store, no audit, no logging.
// As agentscope serve: no appsettings.json reload (its watcher would wake up on every file written under the content root).
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"],
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var app = builder.Build();
var body = new Secret("bench-secret", new string('x', 40), "generic", 1, DateTimeOffset.UnixEpoch);
app.MapGet("/v0/vault/{label}", (string label) => TypedResults.Json(body, BareJson.Default.Secret));
app.Run();

internal sealed record Secret(string Label, string Value, string Kind, long Version, DateTimeOffset UpdatedAt);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Secret))]
internal sealed partial class BareJson : JsonSerializerContext;
