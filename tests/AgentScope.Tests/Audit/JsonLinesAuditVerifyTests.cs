using AgentScope.Audit;

namespace AgentScope.Tests.Audit;

public sealed class JsonLinesAuditVerifyTests : IDisposable
{
    private readonly AuditTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Writes five events, closes the sink, applies <paramref name="tamper"/> to the lines, and verifies with a fresh sink.</summary>
    private async Task<AuditVerification> TamperAndVerifyAsync(Func<List<string>, IEnumerable<string>> tamper)
    {
        (await _files.WriteAsync(5)).Dispose();
        _files.WriteLines(tamper([.. _files.ReadLines()]));
        using var sink = _files.Open();
        return await sink.VerifyAsync();
    }

    [Fact]
    public async Task An_untouched_log_is_valid()
    {
        using var sink = await _files.WriteAsync(5);
        Assert.Equal(new AuditVerification(true, 5, null), await sink.VerifyAsync());
    }

    [Fact]
    public async Task An_empty_log_is_valid()
    {
        using var sink = _files.Open();
        Assert.Equal(new AuditVerification(true, 0, null), await sink.VerifyAsync());
    }

    [Fact]
    public async Task An_edited_field_that_keeps_the_line_valid_json_is_detected()
    {
        var result = await TamperAndVerifyAsync(lines =>
        {
            Assert.Contains("\"label\":\"stripe-refund\"", lines[2], StringComparison.Ordinal);
            lines[2] = lines[2].Replace("\"label\":\"stripe-refund\"", "\"label\":\"stripe-refunx\"", StringComparison.Ordinal);
            return lines;
        });

        Assert.False(result.Valid);
        Assert.Equal(2, result.Events);
        Assert.Contains("line 3", result.Problem, StringComparison.Ordinal);
        Assert.Contains("edited", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edited_line_whose_hash_was_recomputed_breaks_the_next_link()
    {
        // Re-hashing an edited record by hand still leaves the following record's prev pointing at the old hash.
        var result = await TamperAndVerifyAsync(lines =>
        {
            var line = lines[1].Replace("\"outcome\":\"ok\"", "\"outcome\":\"denied\"", StringComparison.Ordinal);
            var marker = line.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal);
            var prev = lines[0][(lines[0].LastIndexOf(",\"hash\":\"", StringComparison.Ordinal) + 9)..^2];
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(prev + line[..marker] + "}")));
            lines[1] = line[..marker] + ",\"hash\":\"" + hash + "\"}";
            return lines;
        });

        Assert.False(result.Valid);
        Assert.Contains("line 3", result.Problem, StringComparison.Ordinal);
        Assert.Contains("prev", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_middle_line_is_detected()
    {
        var result = await TamperAndVerifyAsync(lines =>
        {
            lines.RemoveAt(2);
            return lines;
        });

        Assert.False(result.Valid);
        Assert.Equal(2, result.Events);
        Assert.Contains("line 3", result.Problem, StringComparison.Ordinal);
        Assert.Contains("expected seq 3 but found 4", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_swapped_pair_of_lines_is_detected()
    {
        var result = await TamperAndVerifyAsync(lines =>
        {
            (lines[1], lines[2]) = (lines[2], lines[1]);
            return lines;
        });

        Assert.False(result.Valid);
        Assert.Equal(1, result.Events);
        Assert.Contains("line 2", result.Problem, StringComparison.Ordinal);
        Assert.Contains("expected seq 2 but found 3", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_removed_last_line_is_detected_through_the_anchor()
    {
        var result = await TamperAndVerifyAsync(lines => lines[..^1]);

        Assert.False(result.Valid);
        Assert.Equal(4, result.Events);
        Assert.Contains("line 4", result.Problem, StringComparison.Ordinal);
        Assert.Contains("anchor records seq 5", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_emptied_entirely_is_detected_through_the_anchor()
    {
        var result = await TamperAndVerifyAsync(_ => []);

        Assert.False(result.Valid);
        Assert.Contains("anchor records seq 5", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_last_line_cut_in_the_middle_is_detected()
    {
        (await _files.WriteAsync(5)).Dispose();
        var text = File.ReadAllText(_files.LogPath);
        File.WriteAllText(_files.LogPath, text[..(text.Length - 40)]);
        using var sink = _files.Open();

        var result = await sink.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Equal(4, result.Events);
        Assert.Contains("line 5 is incomplete", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_garbage_line_is_detected()
    {
        var result = await TamperAndVerifyAsync(lines =>
        {
            lines[1] = "this is not json at all";
            return lines;
        });

        Assert.False(result.Valid);
        Assert.Equal(1, result.Events);
        Assert.Contains("line 2 is not valid JSON", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inserted_blank_line_is_detected()
    {
        var result = await TamperAndVerifyAsync(lines =>
        {
            lines.Insert(3, "");
            return lines;
        });

        Assert.False(result.Valid);
        Assert.Contains("line 4 is empty", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rewritten_anchor_is_detected()
    {
        (await _files.WriteAsync(5)).Dispose();
        var anchor = File.ReadAllText(_files.LogPath + ".head");
        File.WriteAllText(_files.LogPath + ".head", anchor.Replace("\"hash\":\"", "\"hash\":\"0", StringComparison.Ordinal).Remove(anchor.IndexOf("\"}", StringComparison.Ordinal), 1));
        using var sink = _files.Open();

        var result = await sink.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Contains("anchor", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_anchor_one_record_behind_after_a_crash_is_still_valid()
    {
        (await _files.WriteAsync(5)).Dispose();
        var lines = _files.ReadLines();
        var prevOfLast = lines[4][(lines[4].IndexOf("\"prev\":\"", StringComparison.Ordinal) + 8)..][..64];
        var anchor = ("{\"seq\":4,\"hash\":\"" + prevOfLast + "\"}").PadRight(127) + "\n";
        File.WriteAllText(_files.LogPath + ".head", anchor);

        using var sink = _files.Open();
        Assert.Equal(new AuditVerification(true, 5, null), await sink.VerifyAsync());

        await sink.WriteAsync(AuditTestFiles.Event(5));
        Assert.Equal(new AuditVerification(true, 6, null), await sink.VerifyAsync());
    }

    [Fact]
    public async Task A_writer_refuses_to_append_after_the_tail_was_cut_so_the_evidence_stays()
    {
        (await _files.WriteAsync(5)).Dispose();
        _files.WriteLines(_files.ReadLines()[..^1]);
        using var sink = _files.Open();

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.WriteAsync(AuditTestFiles.Event(9, label: "secret-label")).AsTask());

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("audit verify", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-label", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, _files.ReadLines().Length);
        Assert.False((await sink.VerifyAsync()).Valid);
    }

    [Fact]
    public async Task An_open_writer_refuses_to_append_when_the_log_shrinks_under_it()
    {
        using var sink = await _files.WriteAsync(5);
        _files.WriteLines(_files.ReadLines()[..^2]);

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.WriteAsync(AuditTestFiles.Event(9)).AsTask());

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Equal(3, _files.ReadLines().Length);
    }

    [Fact]
    public async Task A_writer_refuses_to_append_after_a_last_line_cut_in_the_middle()
    {
        (await _files.WriteAsync(3)).Dispose();
        var text = File.ReadAllText(_files.LogPath);
        File.WriteAllText(_files.LogPath, text[..^10]);
        using var sink = _files.Open();

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.WriteAsync(AuditTestFiles.Event(9)).AsTask());

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("incomplete", ex.Message, StringComparison.Ordinal);
    }
}
