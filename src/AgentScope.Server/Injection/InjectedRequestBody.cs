using System.Text.Json;

namespace AgentScope.Server.Injection;

/// <summary>
/// <c>POST /v0/request</c>: the MCP <c>vault.request</c> arguments (without <c>justification</c>, which travels in the
/// <c>X-AgentScope-Justification</c> header as on every agent route). Placeholders <c>{{secret:LABEL}}</c> and
/// <c>{{totp:LABEL}}</c> may appear in the URL's path and query, header values, query names and values, and the body.
/// </summary>
internal sealed class InjectedRequestBody
{
    /// <summary>GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.</summary>
    public string? Method { get; init; }

    /// <summary>An absolute https:// URL (http:// only to loopback where the rule sets allowHttpLoopback); no placeholder in its host.</summary>
    public required string Url { get; init; }

    /// <summary>Request headers, name to value.</summary>
    public Dictionary<string, string>? Headers { get; init; }

    /// <summary>Query parameters to append, percent-encoded by AgentScope.</summary>
    public Dictionary<string, string>? Query { get; init; }

    /// <summary>A string, sent as it is, or any other JSON value, sent as application/json.</summary>
    public JsonElement? Body { get; init; }

    // The body and headers may hold a credential written out by mistake: never in a log line.
    public override string ToString() => $"InjectedRequestBody {{ {Method ?? "GET"} }}";
}
