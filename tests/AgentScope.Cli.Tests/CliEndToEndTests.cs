using System.Text.Json;

namespace AgentScope.Cli.Tests;

public sealed class CliEndToEndTests : IDisposable
{
    private readonly CliProcess _cli = new();

    public void Dispose() => _cli.Dispose();

    private async Task<string> InitAsync()
    {
        var init = await _cli.RunAsync("init");
        Assert.Equal(0, init.ExitCode);
        var adminKey = init.Stdout.Trim();
        Assert.StartsWith("asa_", adminKey, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', adminKey);
        return adminKey;
    }

    private async Task<string> CreateAgentAsync(string id)
    {
        var r = await _cli.RunAsync($"agent create {id}");
        Assert.Equal(0, r.ExitCode);
        var key = r.Stdout.Trim();
        Assert.StartsWith($"ask_{id}_", key, StringComparison.Ordinal);
        return key;
    }

    [Fact]
    public async Task Init_prints_only_the_admin_key_on_stdout_and_refuses_a_second_time()
    {
        await InitAsync();
        Assert.True(File.Exists(Path.Combine(_cli.Home, "keys", "master.key")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_cli.Home, "keys", "master.key")));
        }
        var again = await _cli.RunAsync("init");
        Assert.Equal(2, again.ExitCode);
        Assert.Empty(again.Stdout);
    }

    [Fact]
    public async Task An_agent_stores_reads_lists_and_deletes_its_own_secret()
    {
        await InitAsync();
        var key = await CreateAgentAsync("alpha");
        var put = await _cli.RunAsync("secret put stripe-refund", stdin: "sk_live_abc\n", apiKey: key);
        Assert.Equal(0, put.ExitCode);
        var get = await _cli.RunAsync("secret get stripe-refund", apiKey: key);
        Assert.Equal(0, get.ExitCode);
        Assert.Equal("sk_live_abc\n", get.Stdout);

        var ls = await _cli.RunAsync("secret ls --json", apiKey: key);
        Assert.Equal(0, ls.ExitCode);
        using var doc = JsonDocument.Parse(ls.Stdout);
        Assert.Equal("stripe-refund", doc.RootElement.GetProperty("labels")[0].GetProperty("label").GetString());
        Assert.DoesNotContain("sk_live_abc", ls.Stdout, StringComparison.Ordinal);

        Assert.Equal(0, (await _cli.RunAsync("secret rm stripe-refund", apiKey: key)).ExitCode);
        Assert.Equal(3, (await _cli.RunAsync("secret get stripe-refund", apiKey: key)).ExitCode);
    }

    [Fact]
    public async Task Exit_codes_follow_the_contract()
    {
        await InitAsync();
        var alpha = await CreateAgentAsync("alpha");
        var beta = await CreateAgentAsync("beta");
        await _cli.RunAsync("secret put only-alpha", stdin: "v", apiKey: alpha);

        Assert.Equal(3, (await _cli.RunAsync("secret get only-alpha", apiKey: beta)).ExitCode);
        Assert.Equal(4, (await _cli.RunAsync("secret get only-alpha", apiKey: alpha + "x")).ExitCode);
        Assert.Equal(2, (await _cli.RunAsync("secret get ../alpha/only-alpha", apiKey: beta)).ExitCode);
        Assert.Equal(2, (await _cli.RunAsync("secret get")).ExitCode);
        Assert.Equal(2, (await _cli.RunAsync("no-such-command")).ExitCode);
        Assert.Equal(2, (await _cli.RunAsync("secret get x")).ExitCode); // neither a key nor --agent
        Assert.Equal(3, (await _cli.RunAsync("agent show nobody")).ExitCode);
        Assert.Equal(2, (await _cli.RunAsync("agent create Bad_Id")).ExitCode);
    }

    [Fact]
    public async Task Errors_are_one_line_on_stderr_without_a_stack_trace()
    {
        await InitAsync();
        var r = await _cli.RunAsync("secret get missing --agent nobody");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Empty(r.Stdout);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain(" at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Totp_prints_a_code_and_get_never_reveals_the_seed()
    {
        await InitAsync();
        var key = await CreateAgentAsync("alpha");
        const string seed = "JBSWY3DPEHPK3PXP";
        Assert.Equal(0, (await _cli.RunAsync("secret put gh --totp", stdin: seed + "\n", apiKey: key)).ExitCode);
        var totp = await _cli.RunAsync("secret totp gh --json", apiKey: key);
        Assert.Equal(0, totp.ExitCode);
        using var doc = JsonDocument.Parse(totp.Stdout);
        Assert.Matches("^[0-9]{6}$", doc.RootElement.GetProperty("code").GetString());
        var get = await _cli.RunAsync("secret get gh", apiKey: key);
        Assert.Equal(4, get.ExitCode);
        Assert.DoesNotContain(seed, get.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_destroys_entries_kills_keys_and_leaves_no_plaintext_in_the_home()
    {
        await InitAsync();
        var key = await CreateAgentAsync("alpha");
        var canary = "canary-" + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(0, (await _cli.RunAsync($"secret put label-{i}", stdin: canary, apiKey: key)).ExitCode);
        }

        Assert.False(HomeContains(canary));
        Assert.Equal(2, (await _cli.RunAsync("agent revoke alpha")).ExitCode); // needs --yes when not interactive
        var revoke = await _cli.RunAsync("agent revoke alpha --yes --json");
        Assert.Equal(0, revoke.ExitCode);
        using var doc = JsonDocument.Parse(revoke.Stdout);
        Assert.Equal(3, doc.RootElement.GetProperty("destroyed").GetInt32());
        Assert.Equal(4, (await _cli.RunAsync("secret get label-0", apiKey: key)).ExitCode);
        var sweep = await _cli.RunAsync("sweep --dry-run --json");
        Assert.Equal(0, sweep.ExitCode);
        using var sweepDoc = JsonDocument.Parse(sweep.Stdout);
        Assert.Equal(0, sweepDoc.RootElement.GetProperty("orphansFound").GetInt32());
        Assert.False(HomeContains(canary));
        Assert.False(HomeContains(key));
    }

    [Fact]
    public async Task The_audit_trail_verifies_and_detects_an_edit()
    {
        await InitAsync();
        var key = await CreateAgentAsync("alpha");
        await _cli.RunAsync("secret put a", stdin: "v1", apiKey: key);
        await _cli.RunAsync("secret get a", apiKey: key);
        var verify = await _cli.RunAsync("audit verify");
        Assert.Equal(0, verify.ExitCode);
        var tail = await _cli.RunAsync("audit tail --json -n 50");
        Assert.Equal(0, tail.ExitCode);
        Assert.Contains("\"action\":\"write\"", tail.Stdout, StringComparison.Ordinal);

        var file = Directory.GetFiles(_cli.Home, "*.jsonl", SearchOption.AllDirectories).Single();
        var lines = File.ReadAllLines(file);
        var i = Array.FindIndex(lines, l => l.Contains("\"action\":\"write\"", StringComparison.Ordinal));
        lines[i] = lines[i].Replace("\"label\":\"a\"", "\"label\":\"b\"", StringComparison.Ordinal);
        File.WriteAllLines(file, lines);
        var broken = await _cli.RunAsync("audit verify");
        Assert.NotEqual(0, broken.ExitCode);
    }

    [Fact]
    public async Task Audit_query_filters_the_file_trail_and_pages_with_after()
    {
        await InitAsync();
        var alpha = await CreateAgentAsync("alpha");
        var beta = await CreateAgentAsync("beta");
        await _cli.RunAsync("secret put a", stdin: "v1", apiKey: alpha);
        await _cli.RunAsync("secret get a", apiKey: alpha);
        await _cli.RunAsync("secret get a", apiKey: beta);

        var writes = await _cli.RunAsync("audit query --agent alpha --action write --json");
        Assert.Equal(0, writes.ExitCode);
        using (var doc = JsonDocument.Parse(writes.Stdout.Trim()))
        {
            Assert.Equal("a", doc.RootElement.GetProperty("label").GetString());
            Assert.Equal(64, doc.RootElement.GetProperty("fingerprint").GetString()!.Length);
        }

        var missing = await _cli.RunAsync("audit query --agent beta --label a --outcome not_found --since 1h --json");
        Assert.Single(missing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var first = await _cli.RunAsync("audit query --limit 2 --json");
        Assert.Contains("--after 2", first.Stderr, StringComparison.Ordinal);
        var next = await _cli.RunAsync("audit query --limit 2 --after 2 --json");
        var seqs = next.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l =>
        {
            using var d = JsonDocument.Parse(l);
            return d.RootElement.GetProperty("seq").GetInt64();
        });
        Assert.Equal([3L, 4L], seqs);

        Assert.Empty((await _cli.RunAsync("audit query --until 2000-01-01T00:00:00Z")).Stdout);
        Assert.Equal(2, (await _cli.RunAsync("audit query --limit 0")).ExitCode);
    }

    [Fact]
    public async Task Policy_set_from_a_file_restricts_the_agent()
    {
        await InitAsync();
        var key = await CreateAgentAsync("alpha");
        var policy = Path.Combine(_cli.Home, "policy.json");
        await File.WriteAllTextAsync(policy, """{"rules":[{"labels":"public-*","operations":["read","write","list"]}]}""");
        Assert.Equal(0, (await _cli.RunAsync($"agent policy alpha set --file {policy}")).ExitCode);
        Assert.Equal(0, (await _cli.RunAsync("secret put public-a", stdin: "x", apiKey: key)).ExitCode);
        Assert.Equal(4, (await _cli.RunAsync("secret put private-a", stdin: "x", apiKey: key)).ExitCode);
        var shown = await _cli.RunAsync("agent policy alpha get");
        Assert.Contains("public-*", shown.Stdout, StringComparison.Ordinal);

        await File.WriteAllTextAsync(policy, """{"rules":[{"labels":"a/b","operations":["fly"]}]}""");
        var bad = await _cli.RunAsync($"agent policy alpha set --file {policy}");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("fly", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_rotation_prints_a_new_key_and_the_old_one_stops_after_a_zero_grace()
    {
        await InitAsync();
        var oldKey = await CreateAgentAsync("alpha");
        var rotate = await _cli.RunAsync("agent rotate-key alpha --grace 0");
        Assert.Equal(0, rotate.ExitCode);
        var newKey = rotate.Stdout.Trim();
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal(0, (await _cli.RunAsync("secret put x", stdin: "v", apiKey: newKey)).ExitCode);
        Assert.Equal(4, (await _cli.RunAsync("secret get x", apiKey: oldKey)).ExitCode);
    }

    private bool HomeContains(string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return Directory.GetFiles(_cli.Home, "*", SearchOption.AllDirectories)
            .Any(f => File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0);
    }
}
