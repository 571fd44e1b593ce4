using System.Text.RegularExpressions;

namespace AgentScope.Audit.PostgreSql;

/// <summary>Settings of <see cref="PostgreSqlAuditSink"/>, validated once when the sink is created.</summary>
public sealed partial class PostgreSqlAuditOptions
{
    /// <summary>
    /// The Npgsql connection string (e.g. <c>Host=db;Database=agentscope;Username=agentscope_app;Password=...</c>).
    /// Required. Its <c>Timeout</c> bounds how long a write waits for an unreachable server before failing.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The schema holding the audit table; created when missing. Default <c>agentscope</c>.</summary>
    public string Schema { get; set; } = "agentscope";

    /// <summary>
    /// The audit table; created when missing, with its version table <c>&lt;Table&gt;_schema_version</c> next to it.
    /// Default <c>audit_events</c>. Lowercase letters, digits and underscores, at most 40 characters.
    /// </summary>
    public string Table { get; set; } = "audit_events";

    /// <summary>
    /// When false (default), <see cref="PostgreSqlAuditSink.WriteAsync"/> returns only after the event's transaction is
    /// committed, and fails when it cannot be, so the core refuses the operation (fail-closed). When true, it only queues
    /// the event and returns: operations go on while PostgreSQL is down, and events that cannot be written (or do not
    /// fit in the queue) are dropped and logged.
    /// </summary>
    public bool BestEffort { get; set; }

    /// <summary>
    /// When true, the sink's transactions set <c>synchronous_commit = off</c>: a write still returns only after its row is
    /// committed (visible, and safe from a crash of AgentScope), but before the commit is flushed to disk on the database
    /// server, so a crash of the database server may lose the last few hundred milliseconds of audit rows (never
    /// corrupting the chain). That is the durability of the file sink's default (<c>Durable = false</c>), at a fraction
    /// of the latency of a flush. Default false: a write returns once its row is on the database's disk.
    /// </summary>
    public bool AsynchronousCommit { get; set; }

    /// <summary>
    /// The most events committed in one transaction. Concurrent writes are gathered into one transaction (group commit),
    /// so a commit's cost is shared by every caller waiting on it. Default 256.
    /// </summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>
    /// How long the writer waits for more events before committing a batch that is not full. Default zero: a batch holds
    /// whatever arrived while the previous one was committing, which already batches under load without adding latency.
    /// </summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How many events may wait for the writer. When full, a durable write waits for room; a best-effort write is
    /// dropped and logged. Default 10,000.
    /// </summary>
    public int MaxQueueLength { get; set; } = 10_000;

    /// <summary>How many rows a query reads per round trip while it streams pages. Default 500.</summary>
    public int QueryPageSize { get; set; } = 500;

    /// <summary>Reports every problem together as one invalid-input error.</summary>
    /// <exception cref="AgentScopeException">The options are not valid (kind <see cref="ErrorKind.InvalidInput"/>).</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add("ConnectionString is required");
        }
        else
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
            }
            catch (ArgumentException)
            {
                problems.Add("ConnectionString is not a valid PostgreSQL connection string");
            }
        }

        if (Schema is null || !Identifier().IsMatch(Schema))
        {
            problems.Add("Schema must be a lowercase identifier (letters, digits, underscores; at most 40 characters)");
        }

        if (Table is null || !Identifier().IsMatch(Table))
        {
            problems.Add("Table must be a lowercase identifier (letters, digits, underscores; at most 40 characters)");
        }

        if (MaxBatchSize is < 1 or > 10_000)
        {
            problems.Add("MaxBatchSize must be between 1 and 10000");
        }

        if (MaxBatchDelay < TimeSpan.Zero || MaxBatchDelay > TimeSpan.FromSeconds(10))
        {
            problems.Add("MaxBatchDelay must be between 0 and 10 seconds");
        }

        if (MaxQueueLength < 1)
        {
            problems.Add("MaxQueueLength must be positive");
        }

        if (QueryPageSize is < 1 or > 100_000)
        {
            problems.Add("QueryPageSize must be between 1 and 100000");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid PostgreSQL audit options: " + string.Join("; ", problems));
        }
    }

    internal PostgreSqlAuditOptions Clone() => (PostgreSqlAuditOptions)MemberwiseClone();

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
