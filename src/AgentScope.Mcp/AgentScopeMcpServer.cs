using System.Reflection;
using AgentScope.Client;
using AgentScope.Injection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentScope.Mcp;

/// <summary>
/// An MCP server over one agent's vault: the tools <c>vault.store</c>, <c>vault.get</c>, <c>vault.delete</c>,
/// <c>vault.list</c>, <c>vault.totp</c> and <c>vault.request</c>. In process, the vault is authenticated once, by the
/// caller; every tool call is then checked against that agent's policy and audited with the <c>mcp</c> surface. In remote
/// mode (the overloads taking an <see cref="AgentScopeClient"/>), every tool call is a REST call to an AgentScope server
/// with the agent's key, which applies the policy and audits (surface <c>rest</c>) there.
/// </summary>
public static class AgentScopeMcpServer
{
    /// <summary>What the server tells the model about itself when a session starts.</summary>
    public const string Instructions =
        "This server holds the credentials of one agent. To call an API with a stored credential, use vault.request and write " +
        "{{secret:LABEL}} (or {{totp:LABEL}}) where the value belongs: AgentScope injects it, sends the request only to hosts " +
        "its policy allows, and scrubs the value from the response, so you never see it. vault.list shows the labels; " +
        "vault.get reveals a value only where the policy explicitly allows it.";

    /// <summary>The six tools, bound to <paramref name="vault"/>.</summary>
    public static IReadOnlyList<McpServerTool> CreateTools(AgentVault vault, InjectedRequestExecutor executor, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(executor);
        return CreateTools(new InProcessVaultToolsBackend(vault, executor), logger);
    }

    /// <summary>
    /// The six tools, working on an AgentScope server through <paramref name="client"/> (which carries the agent's key).
    /// <c>vault.get</c> asks the server to apply the policy's <c>reveal</c> flag (<see cref="AgentScopeClient.RevealToModelAsync"/>),
    /// and <c>vault.request</c> is performed by the server (<see cref="AgentScopeClient.RequestAsync"/>).
    /// </summary>
    public static IReadOnlyList<McpServerTool> CreateTools(AgentScopeClient client, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return CreateTools(new RemoteVaultToolsBackend(client), logger);
    }

    /// <summary>Server options (name, version, instructions, the tools) for <c>McpServer.Create</c> with any transport.</summary>
    public static McpServerOptions CreateOptions(AgentVault vault, InjectedRequestExecutor executor, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(executor);
        return CreateOptions(new InProcessVaultToolsBackend(vault, executor), loggerFactory);
    }

    /// <summary>Server options for remote mode: the tools work on an AgentScope server through <paramref name="client"/>.</summary>
    public static McpServerOptions CreateOptions(AgentScopeClient client, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return CreateOptions(new RemoteVaultToolsBackend(client), loggerFactory);
    }

    /// <summary>
    /// Serves over stdin/stdout until the client disconnects or <paramref name="cancellationToken"/> fires. Stdout carries
    /// JSON-RPC only: the caller must send every log to stderr.
    /// </summary>
    public static Task RunStdioAsync(AgentVault vault, InjectedRequestExecutor executor, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) =>
        RunStdioAsync(CreateOptions(vault, executor, loggerFactory), loggerFactory, cancellationToken);

    /// <summary>
    /// Serves over stdin/stdout in remote mode, every tool call going to an AgentScope server through <paramref name="client"/>,
    /// until the client disconnects or <paramref name="cancellationToken"/> fires. Stdout carries JSON-RPC only.
    /// </summary>
    public static Task RunStdioAsync(AgentScopeClient client, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) =>
        RunStdioAsync(CreateOptions(client, loggerFactory), loggerFactory, cancellationToken);

    private static IReadOnlyList<McpServerTool> CreateTools(IVaultToolsBackend backend, ILogger? logger)
    {
        var target = new VaultTools(backend, logger ?? NullLogger.Instance);
        return [.. typeof(VaultTools).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m.GetCustomAttribute<McpServerToolAttribute>() is not null)
            .Select(m => McpServerTool.Create(m, target))];
    }

    private static McpServerOptions CreateOptions(IVaultToolsBackend backend, ILoggerFactory? loggerFactory)
    {
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "agentscope", Title = "AgentScope vault", Version = Version },
            ServerInstructions = Instructions,
            ToolCollection = [],
        };
        foreach (var tool in CreateTools(backend, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("AgentScope.Mcp")))
        {
            options.ToolCollection.Add(tool);
        }

        return options;
    }

    private static async Task RunStdioAsync(McpServerOptions options, ILoggerFactory? loggerFactory, CancellationToken cancellationToken)
    {
        await using var transport = new StdioServerTransport(options, loggerFactory);
        await using var server = McpServer.Create(transport, options, loggerFactory);
        await server.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Version =>
        typeof(AgentScopeMcpServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
