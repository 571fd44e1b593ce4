using System.Security.Cryptography;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>
/// One audit table of its own (a fresh schema on a shared or private server) for one test, with the sinks the test
/// opened on it, closed at the end.
/// </summary>
public sealed class AuditTables : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IAsyncDisposable> _owned = [];

    public AuditTables(PostgresServer server)
    {
        Server = server;
        Schema = "t_" + Guid.NewGuid().ToString("N")[..12];
    }

    public PostgresServer Server { get; }

    public string Schema { get; }

    public string Table => Schema + ".audit_events";

    public PostgreSqlAuditSink Open(Action<PostgreSqlAuditOptions>? configure = null, string? connectionString = null)
    {
        var options = new PostgreSqlAuditOptions { ConnectionString = connectionString ?? Server.ConnectionString, Schema = Schema };
        configure?.Invoke(options);
        var sink = new PostgreSqlAuditSink(options);
        _owned.Add(sink);
        return sink;
    }

    /// <summary>The AgentScope core (as applications build it) over an in-memory backend, audited into this table.</summary>
    public ServiceProvider BuildCore(ISecretBackend backend, Action<PostgreSqlAuditOptions>? configure = null)
    {
        var services = new ServiceCollection()
            .AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))
            .AddSingleton(backend)
            .AddPostgreSqlAudit(o =>
            {
                o.ConnectionString = Server.ConnectionString;
                o.Schema = Schema;
                configure?.Invoke(o);
            })
            .BuildServiceProvider();
        _owned.Add(services);
        return services;
    }

    public static AuditEvent Event(int i, string agent = "support-bot", string label = "stripe-refund", string action = AuditActions.Read, string outcome = AuditOutcomes.Ok) => new()
    {
        Time = T0.AddMinutes(i),
        Actor = "agent:" + agent,
        Action = action,
        AgentId = agent,
        Label = label,
        Outcome = outcome,
        RequestId = "req-" + i,
    };

    public static async Task<List<AuditEvent>> QueryAsync(IAuditTrail trail, AuditQuery query)
    {
        var result = new List<AuditEvent>();
        await foreach (var e in trail.QueryAsync(query))
        {
            result.Add(e);
        }

        return result;
    }

    /// <summary>Runs SQL as a superuser with triggers off (<c>session_replication_role = replica</c>): how history gets rewritten despite the guards.</summary>
    public Task TamperAsync(string sql) => Server.ExecuteAsync($"SET session_replication_role = replica; {sql}");

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }
}
