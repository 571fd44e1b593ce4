using AgentScope.Server.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AgentScope.Server.Http;

/// <summary>OpenAPI metadata for the error responses an endpoint may give.</summary>
internal static class ProducesErrorsExtensions
{
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var status in statusCodes)
        {
            builder.Produces<ErrorResponse>(status);
        }

        return builder;
    }
}
