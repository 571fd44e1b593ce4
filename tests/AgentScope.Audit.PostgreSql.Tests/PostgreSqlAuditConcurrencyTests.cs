namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>Several sinks on one table, each with its own connections, stand for several AgentScope servers.</summary>
[Collection("postgres")]
public sealed class PostgreSqlAuditConcurrencyTests(SharedPostgres postgres) : AuditTablesTest(postgres)
{
    [PostgresFact]
    public async Task Concurrent_writers_on_several_server_instances_keep_one_valid_gap_free_chain()
    {
        const int Instances = 4, TasksPerInstance = 8, WritesPerTask = 40;
        // Different batch sizes, so transactions of different instances interleave in every pattern.
        var sinks = new[] { 1, 3, 16, 256 }.Select(size => Tables.Open(o => o.MaxBatchSize = size)).ToArray();

        await Task.WhenAll(sinks.SelectMany((sink, s) => Enumerable.Range(0, TasksPerInstance).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < WritesPerTask; i++)
            {
                await sink.WriteAsync(AuditTables.Event(i) with { RequestId = $"server{s}-task{t}-{i}" });
            }
        }))));

        const int Total = Instances * TasksPerInstance * WritesPerTask;
        foreach (var sink in sinks)
        {
            Assert.Equal(new AuditVerification(true, Total, null), await sink.VerifyAsync());
        }

        var events = await AuditTables.QueryAsync(sinks[0], new AuditQuery { Limit = int.MaxValue });
        Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), events.Select(e => e.Seq!.Value));
        Assert.Equal(Total, events.Select(e => e.RequestId).Distinct().Count());
    }

    [PostgresFact]
    public Task Each_caller_sees_its_own_event_committed_when_its_write_returns() => EachCallerSeesItsOwnEventAsync(asynchronousCommit: false);

    [PostgresFact]
    public Task With_asynchronous_commit_too_each_caller_sees_its_own_event_committed_when_its_write_returns() =>
        EachCallerSeesItsOwnEventAsync(asynchronousCommit: true);

    private async Task EachCallerSeesItsOwnEventAsync(bool asynchronousCommit)
    {
        var sinks = Enumerable.Range(0, 3).Select(_ => Tables.Open(o => o.AsynchronousCommit = asynchronousCommit)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            var id = "req-" + i;
            await sinks[i % 3].WriteAsync(AuditTables.Event(i) with { RequestId = id });
            // Read through another instance (another connection): the row must already be there.
            var found = await Tables.Server.QueryAsync($"SELECT count(*) FROM {Tables.Table} WHERE request_id = '{id}'");
            Assert.Equal("1", found.Single());
        })));
        Assert.Equal(new AuditVerification(true, 60, null), await sinks[0].VerifyAsync());
    }
}
