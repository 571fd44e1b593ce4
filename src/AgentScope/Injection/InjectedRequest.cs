namespace AgentScope.Injection;

/// <summary>
/// An outbound HTTP request that AgentScope performs for an agent, with <c>{{secret:LABEL}}</c> and <c>{{totp:LABEL}}</c>
/// placeholders standing for values the agent may use but not see. The same shape is the MCP <c>vault.request</c> tool's
/// arguments and the body of REST <c>POST /v0/request</c>.
/// </summary>
/// <remarks>
/// Placeholders may appear in the URL's path and query string, in header values, in <see cref="Query"/> names and values,
/// and in <see cref="Body"/>; never in the URL's scheme, host, port or user info (a secret must not choose where it
/// goes), nor in header names. Each is written in the encoding of its position: percent-encoded in the URL and in
/// <see cref="Query"/>, JSON-escaped in a JSON body, form-encoded in a form body, as is in headers and other bodies.
/// </remarks>
public sealed class InjectedRequest
{
    /// <summary>GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>An absolute <c>https://</c> URL (<c>http://</c> only to a loopback host whose rule sets <c>allowHttpLoopback</c>).</summary>
    public required string Url { get; init; }

    /// <summary>Request headers. <c>Host</c>, <c>Content-Length</c>, <c>Accept-Encoding</c> and hop-by-hop headers are refused.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Query parameters appended to the URL, names and values percent-encoded by AgentScope.</summary>
    public IReadOnlyDictionary<string, string>? Query { get; init; }

    /// <summary>
    /// The request body, as text (UTF-8). Its <c>Content-Type</c> comes from <see cref="Headers"/>; without one it is
    /// <c>application/json</c> when the body starts with <c>{</c> or <c>[</c>, and <c>text/plain; charset=utf-8</c> otherwise.
    /// </summary>
    public string? Body { get; init; }
}

/// <summary>What came back from an <see cref="InjectedRequest"/>, with every injected value scrubbed.</summary>
public sealed class InjectedResponse
{
    /// <summary>The HTTP status code of the final response (after same-origin redirects).</summary>
    public required int Status { get; init; }

    /// <summary>Response and content headers, several values of one header joined with <c>", "</c>; scrubbed.</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>The body decoded as UTF-8, at most <see cref="InjectionOptions.MaxResponseBytes"/> of it; scrubbed.</summary>
    public required string Body { get; init; }

    /// <summary>True when the body was longer than the limit and was cut.</summary>
    public bool Truncated { get; init; }
}
