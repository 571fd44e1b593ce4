using AgentScope.Configuration;

namespace Microsoft.Extensions.Configuration;

/// <summary><c>AddAgentScope</c> on <see cref="IConfigurationBuilder"/>: an agent's secrets as configuration.</summary>
public static class AgentScopeConfigurationExtensions
{
    /// <summary>Adds the agent's secrets from the server in <c>AGENTSCOPE_URL</c> with the key in <c>AGENTSCOPE_API_KEY</c>.</summary>
    public static IConfigurationBuilder AddAgentScope(this IConfigurationBuilder builder) => builder.AddAgentScope(_ => { });

    /// <summary>Adds the agent's secrets from <paramref name="endpoint"/> with <paramref name="apiKey"/>.</summary>
    public static IConfigurationBuilder AddAgentScope(this IConfigurationBuilder builder, Uri endpoint, string apiKey, TimeSpan? reloadInterval = null) =>
        builder.AddAgentScope(s =>
        {
            s.Endpoint = endpoint;
            s.ApiKey = apiKey;
            s.ReloadInterval = reloadInterval;
        });

    /// <summary>Adds the agent's secrets, configured by <paramref name="configure"/>.</summary>
    public static IConfigurationBuilder AddAgentScope(this IConfigurationBuilder builder, Action<AgentScopeConfigurationSource> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var source = new AgentScopeConfigurationSource();
        configure(source);
        return builder.Add(source);
    }
}
