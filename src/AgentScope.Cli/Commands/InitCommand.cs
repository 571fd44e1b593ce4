using System.CommandLine;

namespace AgentScope.Cli.Commands;

/// <summary><c>agentscope init</c>: creates the home on the Local store and prints the admin key once, alone on stdout.</summary>
internal sealed class InitCommand : Command
{
    public InitCommand(CliIO io) : base("init", "Create the AgentScope home (Local encrypted store) and print the admin key once")
    {
        this.SetAction(io, async (ctx, ct) =>
        {
            ctx.Home.CreateLocal();
            var adminKey = await ctx.Authenticator.InitializeAsync(ct).ConfigureAwait(false)
                ?? throw AgentScopeException.InvalidInput("the store is already initialised");
            await ctx.IO.Error.WriteLineAsync($"Initialised {ctx.Home.Path} (Local store, master key in keys/master.key).").ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync("The admin key for the REST admin API follows; it is shown only once:").ConfigureAwait(false);
            await ctx.IO.Out.WriteLineAsync(adminKey).ConfigureAwait(false);
            return CliRunner.Ok;
        });
    }
}
