using AgentScope.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace AgentScope.Configuration;

/// <summary>Settings of the AgentScope configuration provider. Built by <c>AddAgentScope</c> on an <see cref="IConfigurationBuilder"/>.</summary>
public sealed class AgentScopeConfigurationSource : IConfigurationSource
{
    /// <summary>The server (default <c>AGENTSCOPE_URL</c>).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The agent's API key (default <c>AGENTSCOPE_API_KEY</c>).</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Only these labels (one batch round trip). When null, every label the agent may list is loaded
    /// (the server's batch read of all readable labels, still one round trip).
    /// </summary>
    public IList<string>? Labels { get; set; }

    /// <summary>Which labels load and under which key. Default: all, <c>--</c> → <c>:</c>.</summary>
    public AgentScopeKeyMapper Mapper { get; set; } = AgentScopeKeyMapper.Default;

    /// <summary>When true, a JSON-object value becomes a section (<c>crm</c> = <c>{"username":..}</c> → <c>crm:username</c>).</summary>
    public bool FlattenJson { get; set; }

    /// <summary>When true, an unreachable server or a failed first load does not stop startup (it is logged and reported).</summary>
    public bool Optional { get; set; }

    /// <summary>How often to poll for changed versions; null (default) disables reloading. Must be positive.</summary>
    public TimeSpan? ReloadInterval { get; set; }

    /// <summary>Up to this fraction of <see cref="ReloadInterval"/> is added at random to each wait, so replicas do not poll in lockstep. Default 0.1.</summary>
    public double ReloadJitter { get; set; } = 0.1;

    /// <summary>When true (default), a reload that finds the agent revoked clears the values loaded before.</summary>
    public bool ClearOnRevocation { get; set; } = true;

    /// <summary>Called when a load or reload fails (the provider keeps its last good values); set <see cref="AgentScopeLoadExceptionContext.Ignore"/> to silence the log for that failure.</summary>
    public Action<AgentScopeLoadExceptionContext>? OnLoadException { get; set; }

    /// <summary>Where failures and skipped labels are logged. Default: none (use <see cref="OnLoadException"/>).</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock of the reload loop (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Client settings beyond endpoint and key (retries, timeouts).</summary>
    public Action<AgentScopeClientOptions>? ConfigureClient { get; set; }

    /// <summary>An HTTP handler to use instead of a new one (proxies, tests).</summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <inheritdoc />
    public IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        if (ReloadInterval is { } interval && interval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"ReloadInterval must be positive (or null to disable reloading), not {interval}");
        }

        if (ReloadJitter is < 0 or > 1)
        {
            throw new InvalidOperationException($"ReloadJitter must be between 0 and 1, not {ReloadJitter}");
        }

        ArgumentNullException.ThrowIfNull(Mapper);
        return new AgentScopeConfigurationProvider(this);
    }
}

/// <summary>A failed load or reload, handed to <see cref="AgentScopeConfigurationSource.OnLoadException"/>.</summary>
public sealed class AgentScopeLoadExceptionContext
{
    internal AgentScopeLoadExceptionContext(AgentScopeException exception, bool reload)
    {
        Exception = exception;
        Reload = reload;
    }

    /// <summary>What went wrong (never carries a value).</summary>
    public AgentScopeException Exception { get; }

    /// <summary>True when a reload failed (the previous values stay); false for the first load.</summary>
    public bool Reload { get; }

    /// <summary>True when the agent was found revoked.</summary>
    public bool Revoked => Exception.Kind == ErrorKind.AgentRevoked;

    /// <summary>Set to true to skip the provider's own log entry for this failure.</summary>
    public bool Ignore { get; set; }
}
