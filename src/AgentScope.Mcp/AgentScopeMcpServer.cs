using System.Reflection;
using AgentScope.Injection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentScope.Mcp;

/// <summary>
/// An MCP server over one agent's vault: the tools <c>vault.store</c>, <c>vault.get</c>, <c>vault.delete</c>,
/// <c>vault.list</c>, <c>vault.totp</c> and <c>vault.request</c>. The vault is authenticated once, by the caller; every
/// tool call is then checked against that agent's policy and audited with the <c>mcp</c> surface.
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
        var target = new VaultTools(vault, executor, logger ?? NullLogger.Instance);
        return [.. typeof(VaultTools).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m.GetCustomAttribute<McpServerToolAttribute>() is not null)
            .Select(m => McpServerTool.Create(m, target))];
    }

    /// <summary>Server options (name, version, instructions, the tools) for <c>McpServer.Create</c> with any transport.</summary>
    public static McpServerOptions CreateOptions(AgentVault vault, InjectedRequestExecutor executor, ILoggerFactory? loggerFactory = null)
    {
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "agentscope", Title = "AgentScope vault", Version = Version },
            ServerInstructions = Instructions,
            ToolCollection = [],
        };
        foreach (var tool in CreateTools(vault, executor, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("AgentScope.Mcp")))
        {
            options.ToolCollection.Add(tool);
        }

        return options;
    }

    /// <summary>
    /// Serves over stdin/stdout until the client disconnects or <paramref name="cancellationToken"/> fires. Stdout carries
    /// JSON-RPC only: the caller must send every log to stderr.
    /// </summary>
    public static async Task RunStdioAsync(AgentVault vault, InjectedRequestExecutor executor, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        var options = CreateOptions(vault, executor, loggerFactory);
        await using var transport = new StdioServerTransport(options, loggerFactory);
        await using var server = McpServer.Create(transport, options, loggerFactory);
        await server.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Version =>
        typeof(AgentScopeMcpServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
