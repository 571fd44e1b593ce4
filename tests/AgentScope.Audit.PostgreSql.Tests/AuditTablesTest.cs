namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>
/// A test class on the shared PostgreSQL server, with tables of its own for each test (a fresh schema, dropped after).
/// When PostgreSQL cannot run here, <see cref="PostgresFactAttribute"/> skips the tests and no tables are made.
/// </summary>
public abstract class AuditTablesTest(SharedPostgres postgres) : IAsyncLifetime
{
    protected AuditTables Tables { get; private set; } = null!;

    public Task InitializeAsync()
    {
        if (PostgresServer.SkipReason is null)
        {
            Tables = new AuditTables(postgres.Server);
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (Tables is not null)
        {
            await Tables.DisposeAsync();
        }
    }
}
