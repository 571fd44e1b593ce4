using System.Text.Json;

namespace AgentScope.Injection;

/// <summary>
/// The one conversion from the JSON form of a request, shared by MCP <c>vault.request</c> and REST <c>POST /v0/request</c>:
/// there the body may be a JSON string, sent as it is, or any other JSON value, sent as its JSON text with
/// <c>Content-Type: application/json</c> unless the headers name a content type.
/// </summary>
internal static class InjectedRequestJson
{
    /// <summary>The request; <paramref name="method"/> defaults to GET, a null or JSON-null body means none.</summary>
    public static InjectedRequest Create(string? method, string url, IReadOnlyDictionary<string, string>? headers,
        IReadOnlyDictionary<string, string>? query, JsonElement? body)
    {
        string? text = null;
        if (body is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } b)
        {
            text = b.ValueKind == JsonValueKind.String ? b.GetString() : b.GetRawText();
            if (b.ValueKind != JsonValueKind.String && headers?.Keys.Any(k => k.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) != true)
            {
                headers = new Dictionary<string, string>(headers ?? new Dictionary<string, string>()) { ["Content-Type"] = "application/json" };
            }
        }

        return new InjectedRequest { Method = method ?? "GET", Url = url, Headers = headers, Query = query, Body = text };
    }
}
