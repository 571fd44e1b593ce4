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

            return await parseResult.InvokeAsync(new InvocationConfiguration { Output = io.Out, Error = io.Error }).ConfigureAwait(false);
        }
    }
}
