using System.Diagnostics;

namespace AgentScope.Cli.Tests;

/// <summary>Runs the built <c>agentscope</c> as a separate process against a temporary home, as a user would.</summary>
public sealed class CliProcess : IDisposable
{
    public CliProcess()
    {
        Home = Directory.CreateTempSubdirectory("agentscope-cli-test-").FullName;
    }

    public string Home { get; }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;
    }

    public async Task<Result> RunAsync(string args, string? stdin = null, string? apiKey = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "agentscope.dll"));
        foreach (var a in SplitArgs(args))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["AGENTSCOPE_HOME"] = Home;
        psi.Environment.Remove("AGENTSCOPE_API_KEY");
        psi.Environment.Remove("AGENTSCOPE_URL"); // it would send mcp to a server instead of the home
        if (apiKey is not null)
        {
            psi.Environment["AGENTSCOPE_API_KEY"] = apiKey;
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
        }

        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    // Arguments are test literals: split on spaces, with "double quotes" grouping.
    private static IEnumerable<string> SplitArgs(string args)
    {
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in args)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ' ' && !quoted)
            {
                if (current.Length > 0)
                {
                    parts.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0)
        {
            parts.Add(current.ToString());
        }

        return parts;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
