namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>A fact that needs PostgreSQL: skipped, saying why, when its binaries are not installed.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>One server shared by the tests of the <c>postgres</c> collection; each test works in a schema of its own.</summary>
public sealed class SharedPostgres : IAsyncLifetime
{
    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException(PostgresServer.SkipReason ?? "the server did not start");

    public async Task InitializeAsync()
    {
        if (PostgresServer.SkipReason is null)
        {
            _server = await PostgresServer.StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<SharedPostgres>;
