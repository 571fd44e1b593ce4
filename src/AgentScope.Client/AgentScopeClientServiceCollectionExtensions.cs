using AgentScope.Client;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of <see cref="AgentScopeClient"/> through <c>IHttpClientFactory</c>.</summary>
public static class AgentScopeClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AgentScopeClient"/> as a typed HTTP client. Endpoint and key default to <c>AGENTSCOPE_URL</c> and
    /// <c>AGENTSCOPE_API_KEY</c>; options are validated when the client is first resolved.
    /// </summary>
    public static IHttpClientBuilder AddAgentScopeClient(this IServiceCollection services, Action<AgentScopeClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AgentScopeClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o =>
        {
            o.ApplyDefaultsAndValidate();
            return true;
        });
        return services.AddHttpClient<AgentScopeClient>((sp, http) =>
        {
            // The resilience pipeline owns per-attempt timeouts; the HttpClient's own timeout must not cut retries short.
            http.Timeout = Timeout.InfiniteTimeSpan;
        }).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            // A justification may be written in any language; every other header stays ASCII.
            RequestHeaderEncodingSelector = (name, _) =>
                string.Equals(name, AgentScopeClient.JustificationHeader, StringComparison.OrdinalIgnoreCase) ? System.Text.Encoding.UTF8 : null,
        });
    }
}
