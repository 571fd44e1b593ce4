using System.Security.Cryptography;
using System.Text;

namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>Tampering done directly in SQL, by a superuser with the append-only triggers off, is caught by the chain.</summary>
[Collection("postgres")]
public sealed class PostgreSqlAuditVerifyTests(SharedPostgres postgres) : AuditTablesTest(postgres)
{
    /// <summary>Writes five events with one sink, tampers, and verifies with a fresh sink (as <c>agentscope audit verify</c> would).</summary>
    private async Task<AuditVerification> TamperAndVerifyAsync(string sql)
    {
        await using (var writer = Tables.Open())
        {
            for (var i = 0; i < 5; i++)
            {
                await writer.WriteAsync(AuditTables.Event(i));
            }
        }

        await Tables.TamperAsync(sql);
        await using var verifier = Tables.Open();
        return await verifier.VerifyAsync();
    }

    [PostgresFact]
    public async Task An_untouched_trail_is_valid()
    {
        Assert.Equal(new AuditVerification(true, 5, null), await TamperAndVerifyAsync("SELECT 1"));
    }

    [PostgresFact]
    public async Task An_empty_trail_is_valid()
    {
        await using var sink = Tables.Open();
        Assert.Equal(new AuditVerification(true, 0, null), await sink.VerifyAsync());
    }

    [PostgresFact]
    public async Task An_update_of_one_field_is_detected()
    {
        var result = await TamperAndVerifyAsync($"UPDATE {Tables.Table} SET outcome = 'denied' WHERE seq = 3");

        Assert.False(result.Valid);
        Assert.Equal(2, result.Events);
        Assert.Contains("row 3 (seq 3)", result.Problem, StringComparison.Ordinal);
        Assert.Contains("edited", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task An_update_of_the_time_is_detected()
    {
        var result = await TamperAndVerifyAsync($"UPDATE {Tables.Table} SET time = time - interval '1 hour' WHERE seq = 2");
        Assert.False(result.Valid);
        Assert.Equal(1, result.Events);
    }

    [PostgresFact]
    public async Task An_update_that_recomputes_the_rows_hash_breaks_the_next_link()
    {
        // The forger re-hashes the edited row correctly, but the next row's prev still names the old hash.
        await using (var writer = Tables.Open())
        {
            for (var i = 0; i < 5; i++)
            {
                await writer.WriteAsync(AuditTables.Event(i));
            }
        }

        var prev = (await Tables.Server.QueryAsync($"SELECT prev FROM {Tables.Table} WHERE seq = 2")).Single()!;
        var body = $$"""{"seq":2,"time":"2025-03-01T12:01:00Z","actor":"agent:support-bot","action":"read","agentId":"support-bot","label":"stripe-refund","outcome":"denied","requestId":"req-1","prev":"{{prev}}"}""";
        var forged = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prev + body)));
        await Tables.TamperAsync($"UPDATE {Tables.Table} SET outcome = 'denied', hash = '{forged}' WHERE seq = 2");

        await using var verifier = Tables.Open();
        var result = await verifier.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Equal(2, result.Events); // the forged row itself hashes right
        Assert.Contains("row 3", result.Problem, StringComparison.Ordinal);
        Assert.Contains("prev", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task A_deleted_row_is_detected()
    {
        var result = await TamperAndVerifyAsync($"DELETE FROM {Tables.Table} WHERE seq = 3");

        Assert.False(result.Valid);
        Assert.Equal(2, result.Events);
        Assert.Contains("row 3: expected seq 3 but found 4", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task A_deleted_first_row_is_detected()
    {
        var result = await TamperAndVerifyAsync($"DELETE FROM {Tables.Table} WHERE seq = 1");
        Assert.False(result.Valid);
        Assert.Equal(0, result.Events);
    }

    [PostgresFact]
    public async Task Two_rows_swapped_by_renumbering_are_detected()
    {
        var result = await TamperAndVerifyAsync($"""
            UPDATE {Tables.Table} SET seq = 1000000 WHERE seq = 2;
            UPDATE {Tables.Table} SET seq = 2 WHERE seq = 3;
            UPDATE {Tables.Table} SET seq = 3 WHERE seq = 1000000;
            """);

        Assert.False(result.Valid);
        Assert.Equal(1, result.Events);
        Assert.Contains("row 2", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Two_rows_whose_contents_were_swapped_are_detected()
    {
        var result = await TamperAndVerifyAsync($"""
            UPDATE {Tables.Table} a SET time = b.time, request_id = b.request_id, prev = b.prev, hash = b.hash
            FROM {Tables.Table} b WHERE (a.seq, b.seq) IN ((2, 4), (4, 2));
            """);

        Assert.False(result.Valid);
        Assert.Equal(1, result.Events);
        Assert.Contains("row 2", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task An_inserted_row_is_detected()
    {
        var result = await TamperAndVerifyAsync($"""
            INSERT INTO {Tables.Table} SELECT seq + 1000, time, actor, action, agent_id, label, outcome, reason, justification, request_id, fingerprint, detail, prev, hash
            FROM {Tables.Table} WHERE seq = 5;
            """);

        Assert.False(result.Valid);
        Assert.Equal(5, result.Events);
        Assert.Contains("expected seq 6 but found 1005", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Rows_deleted_from_the_end_are_detected_by_the_sink_that_wrote_them()
    {
        await using var writer = Tables.Open();
        for (var i = 0; i < 5; i++)
        {
            await writer.WriteAsync(AuditTables.Event(i));
        }

        await Tables.TamperAsync($"DELETE FROM {Tables.Table} WHERE seq >= 4");
        var result = await writer.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Equal(3, result.Events);
        Assert.Contains("removed from the end", result.Problem, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Writing_goes_on_after_tampering_and_verification_still_points_at_the_tampered_row()
    {
        await using var writer = Tables.Open();
        for (var i = 0; i < 3; i++)
        {
            await writer.WriteAsync(AuditTables.Event(i));
        }

        await Tables.TamperAsync($"UPDATE {Tables.Table} SET label = 'other' WHERE seq = 2");
        await writer.WriteAsync(AuditTables.Event(3));

        var result = await writer.VerifyAsync();
        Assert.False(result.Valid);
        Assert.Contains("row 2 (seq 2)", result.Problem, StringComparison.Ordinal);
    }
}
