using AgentScope.Injection;
using AgentScope.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentScope.Server.Vault;

/// <summary>
/// <c>X-AgentScope-Reveal-To: model</c> on <c>GET /v0/vault/{label}</c>: a caller that will hand the value to an LLM (the
/// MCP server in remote mode) asks the server to apply the policy's <c>reveal</c> flag, as MCP <c>vault.get</c> does in
/// process, and gets 403 with a pointer to <c>POST /v0/request</c> where it is off.
/// </summary>
/// <remarks>
/// Advisory, for well-behaved clients: the holder of the agent key may always read the value with a plain GET. The flag
/// protects against the model seeing a value (a prompt injection exfiltrating it), not against the agent's own process.
/// </remarks>
internal static class RevealTo
{
    public const string Header = "X-AgentScope-Reveal-To";
    public const string Model = "model";

    /// <summary>The entry as <c>GET /v0/vault/{label}</c> returns it: a plain read, or a read for a model when the header asks.</summary>
    public static async Task<SecretEntry> ReadAsync(HttpContext context, string label, CancellationToken cancellationToken)
    {
        var vault = context.Vault();
        var header = context.Request.Headers[Header];
        if (header.Count == 0)
        {
            return await vault.GetAsync(label, cancellationToken).ConfigureAwait(false);
        }

        if (header.Count > 1 || !string.Equals(header[0]?.Trim(), Model, StringComparison.OrdinalIgnoreCase))
        {
            throw AgentScopeException.InvalidInput($"{Header} may only be \"{Model}\"");
        }

        try
        {
            return await vault.RevealToModelAsync(label, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentScopeException e) when (e.Kind == ErrorKind.AccessDenied)
        {
            throw AgentScopeException.Denied(RevealHint.Append(e.Message));
        }
    }

    /// <summary>Documents the optional header.</summary>
    public static RouteHandlerBuilder AcceptsRevealToHeader(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = Header,
                In = ParameterLocation.Header,
                Required = false,
                Description = "\"model\": the value is for an LLM, so apply the policy's reveal flag (403 where it is off). " +
                    "Advisory: it protects against the model seeing the value, not against the key holder.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [System.Text.Json.Nodes.JsonValue.Create(Model)] },
            });
            return Task.CompletedTask;
        });
}
