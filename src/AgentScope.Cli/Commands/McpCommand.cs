using System.CommandLine;
using AgentScope.Injection;
using AgentScope.Mcp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Cli.Commands;

/// <summary>
/// <c>agentscope mcp</c>: an MCP server over stdio for the agent whose key is in <c>AGENTSCOPE_API_KEY</c>, working
/// in-process on the home's backend. Stdout carries JSON-RPC only; logs and errors go to stderr.
/// </summary>
internal sealed class McpCommand : Command
{
    public McpCommand(CliIO io)
        : base("mcp", "Serve the agent in AGENTSCOPE_API_KEY to an LLM as MCP tools over stdio (vault.request injects secrets without revealing them)")
    {
        this.SetAction(io, async (ctx, ct) =>
        {
            var key = Environment.GetEnvironmentVariable("AGENTSCOPE_API_KEY");
            if (string.IsNullOrWhiteSpace(key))
            {
                throw AgentScopeException.InvalidInput("set AGENTSCOPE_API_KEY to the agent's key: the MCP server acts as that one agent");
            }

            // The process lives as long as the MCP session; the CLI's container has no identity cache, so a revoke or a
            // policy change made meanwhile (by another agentscope process) applies to the very next tool call.
            var vault = await ctx.Authenticator.AuthenticateAgentAsync(key.Trim(), new AccessContext { Surface = "mcp" }, ct).ConfigureAwait(false);
            var executor = ctx.Services.GetRequiredService<InjectedRequestExecutor>();
            await AgentScopeMcpServer.RunStdioAsync(vault, executor, ctx.Services.GetRequiredService<ILoggerFactory>(), ct).ConfigureAwait(false);
            return CliRunner.Ok;
        });
    }
}
