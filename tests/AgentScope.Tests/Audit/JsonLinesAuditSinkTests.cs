using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentScope.Audit;

namespace AgentScope.Tests.Audit;

public sealed class JsonLinesAuditSinkTests : IDisposable
{
    private readonly AuditTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>The matching events without their <see cref="AuditEvent.Seq"/>, so they compare equal to what was written.</summary>
    private static async Task<List<AuditEvent>> QueryAsync(JsonLinesAuditSink sink, AuditQuery query) =>
        [.. (await QueryWithSeqAsync(sink, query)).Select(e => e with { Seq = null })];

    private static async Task<List<AuditEvent>> QueryWithSeqAsync(JsonLinesAuditSink sink, AuditQuery query)
    {
        var result = new List<AuditEvent>();
        await foreach (var e in sink.QueryAsync(query))
        {
            result.Add(e);
        }

        return result;
    }

    private static AuditEvent[] Sample() =>
    [
        AuditTestFiles.Event(0, agent: "alpha", label: "db-password", action: AuditActions.Write, outcome: AuditOutcomes.Ok) with { Fingerprint = new string('a', 64), Justification = "rotate", Detail = "v2" },
        AuditTestFiles.Event(1, agent: "alpha", label: "db-password", action: AuditActions.Read, outcome: AuditOutcomes.Ok),
        AuditTestFiles.Event(2, agent: "beta", label: "stripe-refund", action: AuditActions.Read, outcome: AuditOutcomes.Denied) with { Reason = "policy denies read" },
        AuditTestFiles.Event(3, agent: "beta", label: "missing", action: AuditActions.Delete, outcome: AuditOutcomes.NotFound),
        AuditTestFiles.Event(4, agent: "alpha", label: "stripe-refund", action: AuditActions.Totp, outcome: AuditOutcomes.Error) with { Reason = "backend timeout" },
    ];

    private async Task<JsonLinesAuditSink> WriteSampleAsync()
    {
        var sink = _files.Open();
        foreach (var e in Sample())
        {
            await sink.WriteAsync(e);
        }

        return sink;
    }

    [Fact]
    public async Task Every_field_of_an_event_round_trips_through_query()
    {
        using var sink = await WriteSampleAsync();

        var all = await QueryAsync(sink, new AuditQuery { Limit = 1000 });

        Assert.Equal(Sample(), all);
        Assert.All(all, e => Assert.Equal(TimeSpan.Zero, e.Time.Offset));
    }

    [Fact]
    public async Task A_time_with_an_offset_is_stored_as_the_same_instant_in_utc()
    {
        using var sink = _files.Open();
        var local = new DateTimeOffset(2025, 3, 1, 14, 30, 0, TimeSpan.FromHours(2));
        await sink.WriteAsync(AuditTestFiles.Event(0) with { Time = local });

        var back = Assert.Single(await QueryAsync(sink, new AuditQuery()));

        Assert.Equal(local.UtcDateTime, back.Time.UtcDateTime);
        Assert.Contains("\"time\":\"2025-03-01T12:30:00Z\"", _files.ReadLines()[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_filters_by_agent()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { AgentId = "beta" });
        Assert.Equal(Sample().Where(e => e.AgentId == "beta"), result);
    }

    [Fact]
    public async Task Query_filters_by_label()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { Label = "stripe-refund" });
        Assert.Equal(Sample().Where(e => e.Label == "stripe-refund"), result);
    }

    [Fact]
    public async Task Query_filters_by_action()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { Action = AuditActions.Read });
        Assert.Equal(Sample().Where(e => e.Action == AuditActions.Read), result);
    }

    [Fact]
    public async Task Query_filters_by_outcome()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { Outcome = AuditOutcomes.Denied });
        Assert.Equal(Sample().Where(e => e.Outcome == AuditOutcomes.Denied), result);
    }

    [Fact]
    public async Task Query_since_is_inclusive_and_until_is_exclusive()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { Since = AuditTestFiles.T0.AddMinutes(1), Until = AuditTestFiles.T0.AddMinutes(3) });
        Assert.Equal(Sample()[1..3], result);
    }

    [Fact]
    public async Task Query_combines_filters()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { AgentId = "alpha", Label = "db-password", Action = AuditActions.Read });
        Assert.Equal([Sample()[1]], result);
    }

    [Fact]
    public async Task Query_returns_the_first_matches_up_to_the_limit()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { Limit = 2 });
        Assert.Equal(Sample()[..2], result);
    }

    [Fact]
    public async Task Query_with_newest_returns_the_last_matches_oldest_first()
    {
        using var sink = await WriteSampleAsync();
        var result = await QueryAsync(sink, new AuditQuery { Limit = 2, Newest = true });
        Assert.Equal(Sample()[3..], result);

        var alpha = await QueryAsync(sink, new AuditQuery { AgentId = "alpha", Limit = 2, Newest = true });
        Assert.Equal([Sample()[1], Sample()[4]], alpha);
    }

    [Fact]
    public async Task Events_read_back_carry_their_sequence_numbers()
    {
        using var sink = await WriteSampleAsync();
        var all = await QueryWithSeqAsync(sink, new AuditQuery());
        Assert.Equal([1L, 2L, 3L, 4L, 5L], all.Select(e => e.Seq!.Value));
    }

    [Fact]
    public async Task Query_pages_forwards_after_a_seq_and_backwards_before_one()
    {
        using var sink = await WriteSampleAsync();

        var first = await QueryWithSeqAsync(sink, new AuditQuery { Limit = 2 });
        var second = await QueryWithSeqAsync(sink, new AuditQuery { Limit = 2, AfterSeq = first[^1].Seq });
        var third = await QueryWithSeqAsync(sink, new AuditQuery { Limit = 2, AfterSeq = second[^1].Seq });
        Assert.Equal([1L, 2L, 3L, 4L, 5L], first.Concat(second).Concat(third).Select(e => e.Seq!.Value));

        var newest = await QueryWithSeqAsync(sink, new AuditQuery { Limit = 2, Newest = true });
        var older = await QueryWithSeqAsync(sink, new AuditQuery { Limit = 2, Newest = true, BeforeSeq = newest[0].Seq });
        Assert.Equal([2L, 3L, 4L, 5L], older.Concat(newest).Select(e => e.Seq!.Value));

        var alphaAfterOne = await QueryWithSeqAsync(sink, new AuditQuery { AgentId = "alpha", AfterSeq = 1 });
        Assert.Equal([2L, 5L], alphaAfterOne.Select(e => e.Seq!.Value));
    }

    [Fact]
    public async Task A_healthy_sink_passes_its_health_check_and_a_closed_one_fails_it()
    {
        var sink = await WriteSampleAsync();
        await sink.CheckHealthAsync();

        sink.Dispose();

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
    }

    [Fact]
    public async Task A_sink_whose_log_was_removed_fails_its_health_check()
    {
        using var sink = await WriteSampleAsync();
        File.Delete(_files.LogPath);

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
    }

    [Fact]
    public async Task Query_with_a_zero_limit_returns_nothing_and_a_negative_limit_is_invalid_input()
    {
        using var sink = await WriteSampleAsync();
        Assert.Empty(await QueryAsync(sink, new AuditQuery { Limit = 0 }));

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => QueryAsync(sink, new AuditQuery { Limit = -1 }));
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
    }

    [Fact]
    public async Task Query_on_an_empty_log_returns_nothing()
    {
        using var sink = _files.Open();
        Assert.Empty(await QueryAsync(sink, new AuditQuery()));
    }

    [Fact]
    public async Task Query_over_a_corrupt_line_throws_a_typed_error_pointing_to_audit_verify()
    {
        (await _files.WriteAsync(3)).Dispose();
        var lines = _files.ReadLines();
        lines[1] = "{ not json";
        _files.WriteLines(lines);
        using var sink = _files.Open();

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => QueryAsync(sink, new AuditQuery()));

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("audit verify", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_line_is_camel_case_json_with_seq_first_prev_and_hash_last_and_no_nulls()
    {
        using var sink = _files.Open();
        await sink.WriteAsync(AuditTestFiles.Event(0));
        await sink.WriteAsync(AuditTestFiles.Event(1));

        var lines = _files.ReadLines();
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var names = first.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["seq", "time", "actor", "action", "agentId", "label", "outcome", "requestId", "prev", "hash"], names);
        Assert.Equal(1, first.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(new string('0', 64), first.RootElement.GetProperty("prev").GetString());
        Assert.EndsWith("Z", first.RootElement.GetProperty("time").GetString(), StringComparison.Ordinal);

        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(2, second.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(first.RootElement.GetProperty("hash").GetString(), second.RootElement.GetProperty("prev").GetString());
    }

    [Fact]
    public async Task The_hash_is_sha256_of_prev_and_the_exact_line_without_its_hash_field()
    {
        using var sink = _files.Open();
        await sink.WriteAsync(AuditTestFiles.Event(0));
        await sink.WriteAsync(AuditTestFiles.Event(1));

        foreach (var line in _files.ReadLines())
        {
            var marker = line.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal);
            var body = line[..marker] + "}";
            using var doc = JsonDocument.Parse(line);
            var prev = doc.RootElement.GetProperty("prev").GetString();
            var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prev + body)));
            Assert.Equal(expected, doc.RootElement.GetProperty("hash").GetString());
            Assert.EndsWith($",\"hash\":\"{expected}\"}}", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Strings_that_look_like_the_hash_field_or_hold_newlines_stay_inside_one_line()
    {
        using var sink = _files.Open();
        await sink.WriteAsync(AuditTestFiles.Event(0) with { Detail = "x\",\"hash\":\"" + new string('0', 64) + "\"}\nnext", Reason = "é ü \u2028 <b>" });

        Assert.Single(_files.ReadLines());
        Assert.Equal(new AuditVerification(true, 1, null), await sink.VerifyAsync());
        var back = Assert.Single(await QueryAsync(sink, new AuditQuery()));
        Assert.Equal("x\",\"hash\":\"" + new string('0', 64) + "\"}\nnext", back.Detail);
        Assert.Equal("é ü \u2028 <b>", back.Reason);
    }

    [Fact]
    public async Task Reopening_an_existing_log_continues_the_chain()
    {
        (await _files.WriteAsync(3)).Dispose();

        using (var reopened = _files.Open())
        {
            await reopened.WriteAsync(AuditTestFiles.Event(3));
            await reopened.WriteAsync(AuditTestFiles.Event(4));
            Assert.Equal(new AuditVerification(true, 5, null), await reopened.VerifyAsync());
        }

        var lines = _files.ReadLines();
        using var third = JsonDocument.Parse(lines[2]);
        using var fourth = JsonDocument.Parse(lines[3]);
        Assert.Equal(4, fourth.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(third.RootElement.GetProperty("hash").GetString(), fourth.RootElement.GetProperty("prev").GetString());
    }

    [Fact]
    public async Task A_durable_sink_writes_a_valid_chain()
    {
        using var sink = _files.Open(durable: true);
        for (var i = 0; i < 10; i++)
        {
            await sink.WriteAsync(AuditTestFiles.Event(i));
        }

        Assert.Equal(new AuditVerification(true, 10, null), await sink.VerifyAsync());
    }

    [Fact]
    public async Task The_directory_is_created_when_missing()
    {
        Assert.False(Directory.Exists(Path.GetDirectoryName(_files.LogPath)));
        using var sink = _files.Open();
        await sink.WriteAsync(AuditTestFiles.Event(0));

        Assert.True(File.Exists(_files.LogPath));
        Assert.True(File.Exists(_files.LogPath + ".head"));
        Assert.Equal(_files.LogPath, sink.FilePath);
    }

    [Fact]
    public async Task The_log_and_its_anchor_are_readable_by_the_owner_only_on_unix()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var sink = _files.Open();
        await sink.WriteAsync(AuditTestFiles.Event(0));

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(ownerOnly, File.GetUnixFileMode(_files.LogPath));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(_files.LogPath + ".head"));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(_files.LogPath + ".lock"));
    }

    [Fact]
    public void A_sink_on_an_unwritable_path_throws_the_typed_unavailable_error()
    {
        Directory.CreateDirectory(_files.Directory);
        var blocker = Path.Combine(_files.Directory, "not-a-directory");
        File.WriteAllText(blocker, "a file where a directory should be");

        var ex = Assert.Throws<AgentScopeException>(() => new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(blocker, "audit.jsonl") }));

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Equal("backend_unavailable", ex.Code);
        Assert.StartsWith("audit sink", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sink_whose_path_is_a_directory_throws_the_typed_unavailable_error()
    {
        Directory.CreateDirectory(_files.LogPath);

        var ex = Assert.Throws<AgentScopeException>(() => _files.Open());

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
    }

    [Fact]
    public async Task A_closed_sink_refuses_writes_with_the_typed_unavailable_error()
    {
        var sink = _files.Open();
        sink.Dispose();
        sink.Dispose();

        var write = sink.WriteAsync(AuditTestFiles.Event(0)); // fails the task rather than throwing synchronously
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => write.AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        await Assert.ThrowsAsync<AgentScopeException>(() => sink.VerifyAsync().AsTask());
    }
}
