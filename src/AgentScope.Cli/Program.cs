using System.CommandLine;
using AgentScope.Cli;
using AgentScope.Cli.Commands;

return await AgentScopeCli.RunAsync(args, CliIO.Console());

namespace AgentScope.Cli
{
    /// <summary>The command tree, separate from <c>Main</c> so tests can run it in process.</summary>
    internal static class AgentScopeCli
    {
        public static RootCommand Build(CliIO io)
        {
            var root = new RootCommand("AgentScope: per-agent scoped secrets for AI agents")
            {
                new InitCommand(io),
                new AgentCommand(io),
                new SecretCommand(io),
                new SweepCommand(io),
                new AuditCommand(io),
                new ImportEnvCommand(io),
                new McpCommand(io),
                new ServeCommand(io),
            };
            root.Options.Add(CliOptions.Home);
            return root;
        }

        public static async Task<int> RunAsync(string[] args, CliIO io)
        {
            var parseResult = Build(io).Parse(args);
            if (parseResult.Errors.Count > 0)
            {
                foreach (var error in parseResult.Errors)
                {
                    await io.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
                }

                await io.Error.WriteLineAsync("run 'agentscope --help' for usage").ConfigureAwait(false);
                return CliRunner.Usage;
            }

            var configuration = new InvocationConfiguration { Output = io.Out, Error = io.Error };
            if (parseResult.CommandResult.Command is ServeCommand)
            {
                // The web host handles SIGINT/SIGTERM itself and lets in-flight requests finish within its shutdown
                // timeout; System.CommandLine's handler would end the process after 2 seconds.
                configuration.ProcessTerminationTimeout = null;
            }

            return await parseResult.InvokeAsync(configuration).ConfigureAwait(false);
        }
    }
}
