using System.Text;

namespace AgentScope.Cli;

/// <summary>
/// The CLI's streams. Results go to stdout alone (so scripts can capture them); guidance and errors go to stderr.
/// Replaceable for in-process tests.
/// </summary>
internal sealed class CliIO
{
    public CliIO(TextReader stdin, TextWriter stdout, TextWriter stderr, bool stdinIsTerminal)
    {
        In = stdin;
        Out = stdout;
        Error = stderr;
        StdinIsTerminal = stdinIsTerminal;
    }

    public static CliIO Console() => new(System.Console.In, System.Console.Out, System.Console.Error, !System.Console.IsInputRedirected);

    public TextReader In { get; }
    public TextWriter Out { get; }
    public TextWriter Error { get; }
    public bool StdinIsTerminal { get; }

    /// <summary>
    /// Reads a secret value: from a file, or stdin (one trailing newline trimmed); at a terminal, without echo.
    /// Never from the command line, where it would land in shell history and process listings.
    /// </summary>
    public async Task<string> ReadValueAsync(string? file, CancellationToken ct)
    {
        string value;
        if (file is not null && file != "-")
        {
            try
            {
                value = await File.ReadAllTextAsync(file, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw AgentScopeException.InvalidInput($"cannot read {file}: {e.Message}");
            }
        }
        else if (StdinIsTerminal && ReferenceEquals(In, System.Console.In))
        {
            await Error.WriteAsync("value (input hidden, Enter to finish): ").ConfigureAwait(false);
            value = ReadHidden();
            await Error.WriteLineAsync().ConfigureAwait(false);
        }
        else
        {
            value = await In.ReadToEndAsync(ct).ConfigureAwait(false);
        }

        if (value.EndsWith("\r\n", StringComparison.Ordinal))
        {
            value = value[..^2];
        }
        else if (value.EndsWith('\n'))
        {
            value = value[..^1];
        }

        return value.Length == 0 ? throw AgentScopeException.InvalidInput("the value is empty (pipe it on stdin or pass --file)") : value;
    }

    private static string ReadHidden()
    {
        var sb = new StringBuilder();
        while (true)
        {
            var key = System.Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                return sb.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (sb.Length > 0)
                {
                    sb.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                sb.Append(key.KeyChar);
            }
        }
    }
}
