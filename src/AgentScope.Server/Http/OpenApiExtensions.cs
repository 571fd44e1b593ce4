using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentScope.Server.Http;

/// <summary>
/// OpenAPI descriptions that do not change how requests are matched. (<c>Accepts&lt;T&gt;</c> would make routing refuse
/// bodies not labelled <c>application/json</c>, and <c>curl -d</c> labels its JSON as form data.)
/// </summary>
internal static class OpenApiExtensions
{
    public const string BearerScheme = "bearer";

    /// <summary>Documents a JSON request body of type <typeparamref name="T"/>.</summary>
    public static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder builder, bool required = true) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken).ConfigureAwait(false);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = required,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });

    /// <summary>Documents that the operations of a group need <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public static TBuilder RequiresBearerKey<TBuilder>(this TBuilder builder, string which) where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, context, _) =>
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
            operation.Description = $"Authorization: Bearer <{which}>.";
            return Task.CompletedTask;
        });

    /// <summary>Declares the bearer scheme once for the document.</summary>
    public static void AddBearerScheme(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An agent key (ask_...) for /v0/vault and /v0/request; an admin key (asa_...) for /v0/agents, /v0/sweep and /v0/audit.",
        };
    }
}
