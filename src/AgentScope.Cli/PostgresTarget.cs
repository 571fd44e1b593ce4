using Npgsql;

namespace AgentScope.Cli;

/// <summary>
/// Names a PostgreSQL connection string in messages without its secrets: only host, port, database and user are shown,
/// and an error message is scrubbed of the password (and the whole string) before it is printed.
/// </summary>
internal static class PostgresTarget
{
    // Below this, a password is likely to occur by chance in any message; such a password is not worth scrubbing for.
    private const int MinScrubbedLength = 4;

    /// <summary>Refuses a string Npgsql cannot parse, without quoting it or Npgsql's message (which may quote a keyword).</summary>
    /// <exception cref="AgentScopeException">It is not a connection string (kind <see cref="ErrorKind.InvalidInput"/>).</exception>
    public static void Validate(string connectionString, string source)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            throw AgentScopeException.InvalidInput(
                $"{source} is not a valid PostgreSQL connection string: use Npgsql's Keyword=value;... form, e.g. Host=db;Database=agentscope;Username=agentscope");
        }
    }

    /// <summary><c>user@host:port/database</c>, or a placeholder when the string cannot be parsed.</summary>
    public static string Describe(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return "no connection string";
        }

        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            var user = string.IsNullOrEmpty(b.Username) ? "" : b.Username + "@";
            var database = string.IsNullOrEmpty(b.Database) ? "" : "/" + b.Database;
            return $"{user}{b.Host ?? "localhost"}:{b.Port}{database}";
        }
        catch (ArgumentException)
        {
            return "connection string not shown";
        }
    }

    /// <summary><paramref name="message"/> on one line, with the connection string's passwords replaced by <c>***</c>.</summary>
    public static string Scrub(string message, string? connectionString)
    {
        var oneLine = message.ReplaceLineEndings(" ");
        if (string.IsNullOrEmpty(connectionString))
        {
            return oneLine;
        }

        var secrets = new List<string> { connectionString };
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            secrets.Add(b.Password ?? "");
            secrets.Add(b.SslPassword ?? "");
        }
        catch (ArgumentException)
        {
            // Unparsable: only the whole string can be looked for.
        }

        foreach (var secret in secrets.Where(s => s.Length >= MinScrubbedLength).OrderByDescending(s => s.Length))
        {
            oneLine = oneLine.Replace(secret, "***", StringComparison.Ordinal);
        }

        return oneLine;
    }
}
