using System.ComponentModel;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AgentScope.Injection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentScope.Mcp;

/// <summary>
/// The six vault tools, bound to one authenticated agent. Each call runs on that agent's vault through
/// <see cref="IVaultToolsBackend"/> (in process with the <c>mcp</c> surface in its audit records, or on a server over
/// REST), so policy and audit apply exactly as over REST; failures become tool errors (<c>isError</c>) carrying the
/// stable error code and a message that never holds a value.
/// </summary>
[McpServerToolType]
internal sealed class VaultTools(IVaultToolsBackend backend, ILogger logger)
{
    private const string JustificationText = "Why this access is needed; recorded in the audit trail (some policies require it).";
    private const string LabelText = "The label: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit. Case-sensitive.";

    // Request ids in the audit trail: JSON-RPC ids restart at 1 in every session, so prefix them with this process's own.
    private static readonly string SessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    [McpServerTool(Name = "vault.request", Title = "HTTP request with injected credentials", OpenWorld = true, Destructive = true)]
    [Description("""
        Make an HTTP request that uses credentials from your vault WITHOUT seeing them. PREFER THIS TOOL whenever you need a stored secret to call an API.
        Write {{secret:LABEL}} (or {{totp:LABEL}} for the current code of a TOTP entry) where the value belongs: in the URL's path or query, in header values, in query values, or in the body, e.g. headers {"Authorization": "Bearer {{secret:stripe-key}}"}.
        AgentScope fills the values in (percent-encoded in the URL and query, JSON-escaped in a JSON body, form-encoded in a form body), sends the request, and returns status, headers and body with every injected value replaced by [redacted:LABEL].
        Rules: a value is only sent to hosts your policy allows for that label (https; http only to loopback when allowed); placeholders may not appear in the URL's host or port; redirects are followed only to the same scheme, host and port; the response body is cut at a size limit (truncated: true); the request must use at least one placeholder.
        """)]
    public Task<CallToolResult> RequestAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("Absolute URL, e.g. https://api.example.com/v1/charges. Placeholders allowed in path and query, never in the host.")] string url,
        [Description("GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.")] string method = "GET",
        [Description("Request headers (name to value). Values may hold placeholders. Host, Content-Length, Accept-Encoding and hop-by-hop headers are set by AgentScope.")] Dictionary<string, string>? headers = null,
        [Description("Query parameters to append (name to value), percent-encoded by AgentScope. Values may hold placeholders.")] Dictionary<string, string>? query = null,
        [Description("Request body: a string sent as is (Content-Type from headers; JSON if it starts with { or [, else text), or any JSON value, sent as application/json. May hold placeholders.")] JsonElement? body = null,
        [Description(JustificationText)] string? justification = null,
        CancellationToken cancellationToken = default) =>
        RunAsync("vault.request", McpJson.Default.InjectedResponse, () =>
            backend.RequestAsync(Call(context, justification), InjectedRequestJson.Create(method, url, headers, query, body), cancellationToken));

    [McpServerTool(Name = "vault.list", Title = "List labels", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("List the labels in your vault with kind, version and dates. Never returns values. Use a label with vault.request ({{secret:LABEL}}) or vault.totp.")]
    public Task<CallToolResult> ListAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(JustificationText)] string? justification = null,
        CancellationToken cancellationToken = default) =>
        RunAsync("vault.list", McpJson.Default.LabelsResult, () => backend.ListAsync(Call(context, justification), cancellationToken));

    [McpServerTool(Name = "vault.totp", Title = "Current TOTP code", ReadOnly = true, OpenWorld = false)]
    [Description("The current one-time code (RFC 6238) of a TOTP entry, and how many seconds it stays valid. The seed never leaves the vault. To send a code in a request without seeing it, use {{totp:LABEL}} in vault.request instead.")]
    public Task<CallToolResult> TotpAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(LabelText)] string label,
        [Description(JustificationText)] string? justification = null,
        CancellationToken cancellationToken = default) =>
        RunAsync("vault.totp", McpJson.Default.TotpResult, () => backend.GetTotpAsync(Call(context, justification), label, cancellationToken));

    [McpServerTool(Name = "vault.get", Title = "Reveal a value", ReadOnly = true, OpenWorld = false)]
    [Description("Return a secret's value to you. Refused unless the policy explicitly allows revealing that label to a model (off by default): to USE a secret, call vault.request with {{secret:LABEL}} instead, which never shows you the value.")]
    public Task<CallToolResult> GetAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(LabelText)] string label,
        [Description(JustificationText)] string? justification = null,
        CancellationToken cancellationToken = default) =>
        RunAsync("vault.get", McpJson.Default.SecretResult, () => backend.RevealToModelAsync(Call(context, justification), label, cancellationToken));

    [McpServerTool(Name = "vault.store", Title = "Store a value", Destructive = true, Idempotent = false, OpenWorld = false)]
    [Description("Create or overwrite (rotate) a secret under a label. Note: a value you pass here is one you already know; to keep a credential out of the conversation, have a person store it with the agentscope CLI instead.")]
    public Task<CallToolResult> StoreAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(LabelText)] string label,
        [Description("The value (UTF-8 text; a JSON string for structured credentials). For kind totp: a base32 seed or an otpauth://totp/ URI.")] string value,
        [Description("generic (default) or totp.")] string kind = "generic",
        [Description("Optional expiry (ISO 8601, e.g. 2030-01-01T00:00:00Z); afterwards the label reads as not found.")] DateTimeOffset? expiresAt = null,
        [Description(JustificationText)] string? justification = null,
        CancellationToken cancellationToken = default) =>
        RunAsync("vault.store", McpJson.Default.StoreToolResult, () =>
        {
            var options = new StoreOptions
            {
                Kind = kind.Trim().ToLowerInvariant() switch
                {
                    "generic" or "" => SecretKind.Generic,
                    "totp" => SecretKind.Totp,
                    _ => throw AgentScopeException.InvalidInput("kind must be generic or totp"),
                },
                ExpiresAt = expiresAt,
            };
            return backend.StoreAsync(Call(context, justification), label, new SecretValue(value), options, cancellationToken);
        });

    [McpServerTool(Name = "vault.delete", Title = "Delete a label", Destructive = true, Idempotent = true, OpenWorld = false)]
    [Description("Delete a label and every version of its value. Cannot be undone.")]
    public Task<CallToolResult> DeleteAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(LabelText)] string label,
        [Description(JustificationText)] string? justification = null,
        CancellationToken cancellationToken = default) =>
        RunAsync("vault.delete", McpJson.Default.DeleteResult, async () =>
        {
            await backend.DeleteAsync(Call(context, justification), label, cancellationToken).ConfigureAwait(false);
            return new DeleteResult(label, true);
        });

    private static AccessContext Call(RequestContext<CallToolRequestParams> context, string? justification) => new()
    {
        Surface = "mcp",
        RequestId = $"mcp-{SessionId}-{context.JsonRpcRequest.Id}",
        Justification = string.IsNullOrWhiteSpace(justification) ? null : justification,
    };

    // Results are JSON text. Failures are isError results rather than exceptions (which the protocol library would log
    // as server faults): the stable code and the core's message, which never holds a value.
    private async Task<CallToolResult> RunAsync<T>(string tool, JsonTypeInfo<T> type, Func<Task<T>> body)
    {
        try
        {
            return Text(JsonSerializer.Serialize(await body().ConfigureAwait(false), type), isError: false);
        }
        catch (AgentScopeException e)
        {
            var retry = e.RetryAfter is { } wait ? $" (retry after {Math.Ceiling(wait.TotalSeconds)} s)" : "";
            return Text($"{e.Code}: {e.Message}{retry}{Hint(tool, e)}", isError: true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The type and the stack only: a framework message may quote its input, and input may be a value.
            logger.LogError("{Tool} failed unexpectedly: {Type}{NewLine}{Stack}", tool, e.GetType().FullName, Environment.NewLine, e.StackTrace);
            return Text($"error: {tool} failed unexpectedly ({e.GetType().Name}); the server's stderr has details", isError: true);
        }
    }

    // A server in remote mode already added the hint to its refusal.
    private static string Hint(string tool, AgentScopeException e) =>
        tool == "vault.get" && e.Kind == ErrorKind.AccessDenied && !e.Message.Contains(RevealHint.Text, StringComparison.Ordinal) ? ". " + RevealHint.Text : "";

    private static CallToolResult Text(string text, bool isError) => new() { Content = [new TextContentBlock { Text = text }], IsError = isError };
}

/// <summary>Source-generated JSON of the tool results: camelCase, nulls omitted.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InjectedResponse))]
[JsonSerializable(typeof(LabelsResult))]
[JsonSerializable(typeof(TotpResult))]
[JsonSerializable(typeof(SecretResult))]
[JsonSerializable(typeof(StoreToolResult))]
[JsonSerializable(typeof(DeleteResult))]
internal sealed partial class McpJson : JsonSerializerContext;

/// <summary>The result of <c>vault.store</c>.</summary>
internal sealed record StoreToolResult(string Label, long Version, DateTimeOffset UpdatedAt, bool Created);

/// <summary>The result of <c>vault.get</c>.</summary>
internal sealed record SecretResult(string Label, string Value, string Kind, long Version, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

/// <summary>One label of <c>vault.list</c>.</summary>
internal sealed record LabelInfo(string Label, string Kind, long Version, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

/// <summary>The result of <c>vault.list</c>.</summary>
internal sealed record LabelsResult(IReadOnlyList<LabelInfo> Labels);

/// <summary>The result of <c>vault.totp</c>.</summary>
internal sealed record TotpResult(string Code, int Remaining);

/// <summary>The result of <c>vault.delete</c>.</summary>
internal sealed record DeleteResult(string Label, bool Deleted);
