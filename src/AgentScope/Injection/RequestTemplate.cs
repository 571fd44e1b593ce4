using System.Net;
using System.Text;

namespace AgentScope.Injection;

/// <summary>How a request body is written, which decides how a value is encoded where a placeholder stood in it.</summary>
internal enum BodyEncoding
{
    Raw,
    Json,
    Form,
}

/// <summary>
/// An <see cref="InjectedRequest"/> checked and parsed before any value is read: method, origin (scheme, host, port)
/// fixed from the template alone, headers vetted, and every placeholder found.
/// </summary>
internal sealed class RequestTemplate
{
    private const int MaxUrlLength = 8 * 1024;
    private const int MaxHeaders = 100;
    private const int MaxQueryParameters = 100;

    private static readonly HashSet<string> AllowedMethods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" };

    // Framing, hop-by-hop and routing headers are AgentScope's to set: Host in particular could steer a request to
    // another virtual host (and TLS server name) behind an allowed address. Accept-Encoding is fixed so that every
    // response can be decoded, and so scrubbed.
    private static readonly HashSet<string> RefusedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer",
        "Proxy-Authorization", "Proxy-Connection", "Expect", "Accept-Encoding",
    };

    private RequestTemplate(InjectedRequest request, string method, string url, Uri origin, string pathTemplate, IReadOnlyList<Placeholder> urlPlaceholders,
        List<(string Name, string Value, IReadOnlyList<Placeholder> Placeholders)> headers,
        List<(string Name, IReadOnlyList<Placeholder> NamePlaceholders, string Value, IReadOnlyList<Placeholder> ValuePlaceholders)> query,
        IReadOnlyList<Placeholder> bodyPlaceholders, BodyEncoding bodyEncoding, string? defaultContentType)
    {
        Request = request;
        Method = method;
        Url = url;
        Origin = origin;
        PathTemplate = pathTemplate;
        UrlPlaceholders = urlPlaceholders;
        Headers = headers;
        Query = query;
        BodyPlaceholders = bodyPlaceholders;
        BodyEncoding = bodyEncoding;
        DefaultContentType = defaultContentType;
        Host = origin.IdnHost;
        IsHttps = origin.Scheme == Uri.UriSchemeHttps;
        IsLoopback = Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) ||
            IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip);
        AllPlaceholders = [.. urlPlaceholders, .. headers.SelectMany(h => h.Placeholders), .. query.SelectMany(q => q.NamePlaceholders.Concat(q.ValuePlaceholders)), .. bodyPlaceholders];
    }

    public InjectedRequest Request { get; }
    public string Method { get; }
    public string Url { get; }
    public Uri Origin { get; }
    public string PathTemplate { get; }
    public IReadOnlyList<Placeholder> UrlPlaceholders { get; }
    public List<(string Name, string Value, IReadOnlyList<Placeholder> Placeholders)> Headers { get; }
    public List<(string Name, IReadOnlyList<Placeholder> NamePlaceholders, string Value, IReadOnlyList<Placeholder> ValuePlaceholders)> Query { get; }
    public IReadOnlyList<Placeholder> BodyPlaceholders { get; }
    public BodyEncoding BodyEncoding { get; }
    /// <summary>The Content-Type to send when the headers name none and there is a body.</summary>
    public string? DefaultContentType { get; }

    /// <summary>The host the values may go to, as policy matches it (lowercase, IDN in punycode, IPv6 without brackets).</summary>
    public string Host { get; }
    public bool IsHttps { get; }
    public bool IsLoopback { get; }

    /// <summary>Every placeholder of the request, in order of appearance.</summary>
    public IReadOnlyList<Placeholder> AllPlaceholders { get; }

    public static RequestTemplate Parse(InjectedRequest request, InjectionOptions options)
    {
        var method = (request.Method ?? "GET").Trim().ToUpperInvariant();
        if (!AllowedMethods.Contains(method))
        {
            throw AgentScopeException.InvalidInput($"method {Names.Describe(request.Method)} is not supported: use {string.Join(", ", AllowedMethods)}");
        }

        var url = request.Url?.Trim();
        if (string.IsNullOrEmpty(url) || url.Length > MaxUrlLength)
        {
            throw AgentScopeException.InvalidInput($"url must be an absolute http(s) URL of at most {MaxUrlLength} characters");
        }

        var urlPlaceholders = Placeholders.Find(url, "url");
        var (origin, pathTemplate) = ParseOrigin(url, urlPlaceholders);

        var headers = new List<(string, string, IReadOnlyList<Placeholder>)>();
        string? contentType = null;
        foreach (var (name, value) in request.Headers ?? new Dictionary<string, string>())
        {
            if (headers.Count == MaxHeaders)
            {
                throw AgentScopeException.InvalidInput($"at most {MaxHeaders} headers");
            }

            if (string.IsNullOrEmpty(name) || !name.All(IsTokenChar))
            {
                throw AgentScopeException.InvalidInput($"header name {Names.Describe(name)} is not a valid HTTP header name (placeholders are allowed in header values only)");
            }

            if (RefusedHeaders.Contains(name))
            {
                throw AgentScopeException.InvalidInput($"header '{name}' is set by AgentScope and may not be given");
            }

            if (headers.Any(h => h.Item1.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                throw AgentScopeException.InvalidInput($"header '{name}' is given twice (header names are case-insensitive)");
            }

            var text = value ?? "";
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = text;
            }

            headers.Add((name, text, Placeholders.Find(text, $"header '{name}'")));
        }

        var query = new List<(string, IReadOnlyList<Placeholder>, string, IReadOnlyList<Placeholder>)>();
        foreach (var (name, value) in request.Query ?? new Dictionary<string, string>())
        {
            if (query.Count == MaxQueryParameters)
            {
                throw AgentScopeException.InvalidInput($"at most {MaxQueryParameters} query parameters");
            }

            var text = value ?? "";
            query.Add((name, Placeholders.Find(name, "a query name"), text, Placeholders.Find(text, $"query parameter {Names.Describe(name)}")));
        }

        IReadOnlyList<Placeholder> bodyPlaceholders = [];
        var encoding = BodyEncoding.Raw;
        string? defaultContentType = null;
        if (request.Body is { } body)
        {
            if (Encoding.UTF8.GetByteCount(body) > options.MaxRequestBodyBytes)
            {
                throw new AgentScopeException(ErrorKind.ValueTooLarge, $"the request body is larger than {options.MaxRequestBodyBytes} bytes");
            }

            bodyPlaceholders = Placeholders.Find(body, "body");
            if (contentType is null)
            {
                contentType = defaultContentType = body.TrimStart() is ['{' or '[', ..] ? "application/json" : "text/plain; charset=utf-8";
            }

            var mediaType = contentType.Split(';')[0].Trim();
            encoding = mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)
                ? BodyEncoding.Json
                : mediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) ? BodyEncoding.Form : BodyEncoding.Raw;
        }

        var template = new RequestTemplate(request, method, url, origin, pathTemplate, urlPlaceholders, headers, query, bodyPlaceholders, encoding, defaultContentType);
        if (template.AllPlaceholders.Count == 0)
        {
            throw AgentScopeException.InvalidInput(
                "the request uses no {{secret:LABEL}} or {{totp:LABEL}} placeholder: AgentScope only makes requests that use a stored credential");
        }

        return template;
    }

    /// <summary>The request with every placeholder replaced by its value, each in the encoding of its position.</summary>
    public OutboundRequest Substitute(Func<Placeholder, string> value)
    {
        var url = Placeholders.Substitute(Url, UrlPlaceholders, p => InjectionEncodings.UrlComponent(value(p)));
        var fragment = url.IndexOf('#', StringComparison.Ordinal);
        var sb = new StringBuilder(fragment < 0 ? url : url[..fragment]);
        foreach (var (name, namePlaceholders, text, valuePlaceholders) in Query)
        {
            sb.Append(sb.ToString().Contains('?', StringComparison.Ordinal) ? '&' : '?')
                .Append(InjectionEncodings.Query(Placeholders.Substitute(name, namePlaceholders, value)))
                .Append('=')
                .Append(InjectionEncodings.Query(Placeholders.Substitute(text, valuePlaceholders, value)));
        }

        // Values are percent-encoded, so they cannot move the origin; checked all the same.
        if (!Uri.TryCreate(sb.ToString(), UriKind.Absolute, out var uri) || uri.Scheme != Origin.Scheme ||
            !uri.IdnHost.Equals(Origin.IdnHost, StringComparison.OrdinalIgnoreCase) || uri.Port != Origin.Port || uri.UserInfo.Length > 0)
        {
            throw AgentScopeException.InvalidInput("the URL is not valid once the placeholders are filled in");
        }

        var headers = new List<KeyValuePair<string, string>>(Headers.Count);
        foreach (var (name, text, placeholders) in Headers)
        {
            var filled = Placeholders.Substitute(text, placeholders, value);
            if (filled.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                throw AgentScopeException.InvalidInput($"the value of header '{name}' holds a line break or NUL once the placeholders are filled in");
            }

            headers.Add(KeyValuePair.Create(name, filled));
        }

        string? body = null;
        if (Request.Body is { } template)
        {
            body = Placeholders.Substitute(template, BodyPlaceholders, BodyEncoding switch
            {
                BodyEncoding.Json => p => InjectionEncodings.Json(value(p)),
                BodyEncoding.Form => p => InjectionEncodings.Form(value(p)),
                _ => value,
            });
        }

        return new OutboundRequest(uri, headers, body, DefaultContentType);
    }

    /// <summary>The request for the audit trail: origin and path as the agent wrote them (placeholders, not values), no query.</summary>
    public string Describe()
    {
        var target = $"{Origin.GetLeftPart(UriPartial.Authority)}{PathTemplate}";
        return target.Length > 256 ? target[..256] + "..." : target;
    }

    private static (Uri Origin, string PathTemplate) ParseOrigin(string url, IReadOnlyList<Placeholder> placeholders)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = schemeEnd < 0 ? 0 : schemeEnd + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#', '\\'], authorityStart);
        if (authorityEnd < 0)
        {
            authorityEnd = url.Length;
        }

        if (placeholders.Any(p => p.Start < authorityEnd))
        {
            throw AgentScopeException.InvalidInput(
                "placeholders may not appear in the URL's scheme, host, port or user info: a secret must never choose where it is sent; use the path, query, headers or body");
        }

        if (schemeEnd < 0 || !Uri.TryCreate(url[..authorityEnd] + "/", UriKind.Absolute, out var origin) ||
            origin.Scheme is not ("https" or "http") || origin.IdnHost.Length == 0)
        {
            throw AgentScopeException.InvalidInput("url must be an absolute https:// (or, to loopback, http://) URL");
        }

        if (origin.UserInfo.Length > 0)
        {
            throw AgentScopeException.InvalidInput("user info in the URL is not supported: send credentials in a header, e.g. Authorization");
        }

        var pathEnd = url.IndexOfAny(['?', '#'], authorityEnd);
        return (origin, pathEnd < 0 ? url[authorityEnd..] : url[authorityEnd..pathEnd]);
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}

/// <summary>A request with its values filled in: what goes on the wire. Never logged, never returned.</summary>
internal sealed class OutboundRequest(Uri uri, List<KeyValuePair<string, string>> headers, string? body, string? defaultContentType)
{
    private static readonly HashSet<string> ContentHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "Content-Language", "Content-Disposition", "Content-Encoding", "Content-Location", "Content-MD5", "Content-Range",
        "Expires", "Last-Modified", "Allow",
    };

    public Uri Uri => uri;
    public string? Body => body;

    public HttpRequestMessage ToMessage(HttpMethod method, Uri target, bool withBody, string userAgent)
    {
        var message = new HttpRequestMessage(method, target);
        if (withBody && body is not null)
        {
            message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (defaultContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", defaultContentType);
            }
        }

        foreach (var (name, value) in headers)
        {
            if (!ContentHeaders.Contains(name))
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
            else if (message.Content is not null)
            {
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (!message.Headers.Contains("User-Agent"))
        {
            message.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        return message;
    }
}
