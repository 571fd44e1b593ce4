using System.CommandLine;
using AgentScope.Client;
using AgentScope.Injection;
using AgentScope.Mcp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace AgentScope.Cli.Commands;

/// <summary>
/// <c>agentscope mcp</c>: an MCP server over stdio for the agent whose key is in <c>AGENTSCOPE_API_KEY</c>, working
/// in-process on the home's backend, or, with <c>--server URL</c> (or <c>AGENTSCOPE_URL</c>), on a running
/// <c>agentscope serve</c> over REST with that key and without opening the home. Stdout carries JSON-RPC only; logs and
/// errors go to stderr.
/// </summary>
internal sealed class McpCommand : Command
{
    public Option<string?> Server { get; } = new("--server")
    {
        Description = "Work on a running 'agentscope serve' at this URL over REST with the agent's key, instead of opening the home " +
            "(default: AGENTSCOPE_URL when set)",
    };

    public McpCommand(CliIO io)
        : base("mcp", "Serve the agent in AGENTSCOPE_API_KEY to an LLM as MCP tools over stdio (vault.request injects secrets without revealing them)")
    {
        Options.Add(Server);
        this.SetAction(io, async (ctx, ct) =>
        {
            var key = Environment.GetEnvironmentVariable("AGENTSCOPE_API_KEY");
            if (string.IsNullOrWhiteSpace(key))
            {
                throw AgentScopeException.InvalidInput("set AGENTSCOPE_API_KEY to the agent's key: the MCP server acts as that one agent");
            }

            var server = ctx.GetValue(Server) ?? Environment.GetEnvironmentVariable("AGENTSCOPE_URL");
            if (!string.IsNullOrWhiteSpace(server))
            {
                await RunRemoteAsync(server.Trim(), key.Trim(), ct).ConfigureAwait(false);
                return CliRunner.Ok;
            }

            // The process lives as long as the MCP session; the CLI's container has no identity cache, so a revoke or a
            // policy change made meanwhile (by another agentscope process) applies to the very next tool call.
            var vault = await ctx.Authenticator.AuthenticateAgentAsync(key.Trim(), new AccessContext { Surface = "mcp" }, ct).ConfigureAwait(false);
            var executor = ctx.Services.GetRequiredService<InjectedRequestExecutor>();
            await AgentScopeMcpServer.RunStdioAsync(vault, executor, ctx.Services.GetRequiredService<ILoggerFactory>(), ct).ConfigureAwait(false);
            return CliRunner.Ok;
        });
    }

    /// <summary>
    /// Remote mode: nothing of the home is read. The key is not checked up front (that would take an audited call); a wrong
    /// key or an unreachable server is a clear tool error at the first call.
    /// </summary>
    private static async Task RunRemoteAsync(string server, string key, CancellationToken ct)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw AgentScopeException.InvalidInput("--server (or AGENTSCOPE_URL) must be the server's absolute http(s) URL, e.g. http://127.0.0.1:8787");
        }

        var services = new ServiceCollection();
        services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true)
            .AddFilter(l => l >= LogLevel.Warning)
            .Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        services.AddAgentScopeClient(o =>
        {
            o.Endpoint = endpoint;
            o.ApiKey = key;
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<AgentScopeClient>();
        await AgentScopeMcpServer.RunStdioAsync(client, provider.GetRequiredService<ILoggerFactory>(), ct).ConfigureAwait(false);
    }
}
