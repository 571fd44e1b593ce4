using System.CommandLine;

namespace AgentScope.Cli;

/// <summary>
/// Runs a command body and turns every failure into one line on stderr and a named exit code:
/// 0 ok, 1 unexpected, 2 invalid input or usage, 3 not found, 4 unauthenticated/denied/revoked, 5 backend unavailable.
/// </summary>
internal static class CliRunner
{
    public const int Ok = 0;
    public const int Unexpected = 1;
    public const int Usage = 2;

    public static void SetAction(this Command command, CliIO io, Func<CliContext, CancellationToken, Task<int>> body) =>
        command.SetAction((parseResult, ct) => RunAsync(parseResult, io, body, ct));

    public static async Task<int> RunAsync(ParseResult parseResult, CliIO io, Func<CliContext, CancellationToken, Task<int>> body, CancellationToken ct)
    {
        await using var context = new CliContext(parseResult, io);
        try
        {
            return await body(context, ct).ConfigureAwait(false);
        }
        catch (AgentScopeException e)
        {
            await io.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ErrorCodes.ExitCode(e.Kind);
        }
        catch (OperationCanceledException)
        {
            await io.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return 130;
        }
        catch (Exception e)
        {
            // Unexpected: the type only. Framework messages can quote input, and input may be a value.
            await io.Error.WriteLineAsync($"error: unexpected {e.GetType().Name}; rerun with AGENTSCOPE_DEBUG=1 for details").ConfigureAwait(false);
            if (Environment.GetEnvironmentVariable("AGENTSCOPE_DEBUG") == "1")
            {
                await io.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }

            return Unexpected;
        }
    }
}
