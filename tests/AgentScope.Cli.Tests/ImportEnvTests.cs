using System.Diagnostics;
using System.Text.Json;

namespace AgentScope.Cli.Tests;

/// <summary><c>agentscope import-env</c> end to end: the built CLI as a process, a temporary home, a temporary .env.</summary>
public sealed class ImportEnvTests : IDisposable
{
    private readonly CliProcess _cli = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("agentscope-import-env-").FullName;

    // Canaries in credential formats, unique per run, so finding one anywhere is a leak.
    private readonly string _stripe = "sk_live_" + Guid.NewGuid().ToString("N");
    private readonly string _github = "ghp_" + Guid.NewGuid().ToString("N") + "Zq9";
    private readonly string _dbPassword = "pw-" + Guid.NewGuid().ToString("N");
    private readonly string _pem;

    public ImportEnvTests()
    {
        _pem = "-----BEGIN PRIVATE KEY-----\nMII" + Guid.NewGuid().ToString("N") + "\n-----END PRIVATE KEY-----";
    }

    private string[] Values => [_stripe, _github, _dbPassword, _pem, _pem.Split('\n')[1]];

    private string EnvText =>
        "# settings\nPORT=3000\nLOG_LEVEL=info # verbose in dev\n\n" +
        $"STRIPE_API_KEY={_stripe}\nexport GITHUB_TOKEN=\"{_github}\"\nDB_PASSWORD='{_dbPassword}'\n" +
        $"SIGNING_KEY=\"{_pem}\"\nAPP_URL=https://app.example.com\n";

    public void Dispose()
    {
        _cli.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task InitAsync() => Assert.Equal(0, (await _cli.RunAsync("init")).ExitCode);

    private string WriteEnv(string? text = null, UnixFileMode? mode = null)
    {
        var path = Path.Combine(_dir, ".env");
        File.WriteAllText(path, text ?? EnvText);
        if (mode is { } m && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, m);
        }

        return path;
    }

    private string AuditFile => Directory.GetFiles(_cli.Home, "*.jsonl", SearchOption.AllDirectories).Single();

    private void AssertNoValueIn(params string[] texts)
    {
        foreach (var text in texts)
        {
            foreach (var value in Values)
            {
                Assert.DoesNotContain(value, text, StringComparison.Ordinal);
            }
        }
    }

    private void AssertNoValueUnderTheHome()
    {
        foreach (var file in Directory.GetFiles(_cli.Home, "*", SearchOption.AllDirectories))
        {
            AssertNoValueIn(File.ReadAllText(file));
        }
    }

    private static Dictionary<string, JsonElement> VariablesOf(JsonDocument doc) =>
        doc.RootElement.GetProperty("variables").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);

    private static string StatusOf(JsonDocument doc, string name) => VariablesOf(doc)[name].GetProperty("status").GetString()!;

    [Fact]
    public async Task A_dry_run_changes_nothing_anywhere_and_shows_no_value()
    {
        await InitAsync();
        var env = WriteEnv();
        var envBefore = await File.ReadAllBytesAsync(env);
        var auditBefore = await File.ReadAllBytesAsync(AuditFile);

        var r = await _cli.RunAsync($"import-env {env} --agent support-bot --create-agent --rewrite --dry-run");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("would import", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(envBefore, await File.ReadAllBytesAsync(env));
        Assert.Equal(auditBefore, await File.ReadAllBytesAsync(AuditFile));
        Assert.Equal(3, (await _cli.RunAsync("agent show support-bot")).ExitCode);
        Assert.Equal([".env"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        AssertNoValueIn(r.Stdout, r.Stderr);
    }

    [Fact]
    public async Task Import_verifies_and_rewrites_keeping_configuration_and_mode_dropping_secrets_and_adding_the_key()
    {
        await InitAsync();
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        var env = WriteEnv(mode: mode);

        var r = await _cli.RunAsync($"import-env {env} --agent support-bot --create-agent --rewrite --json");

        Assert.True(r.ExitCode == 0, r.Stderr);
        AssertNoValueIn(r.Stdout, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.True(doc.RootElement.GetProperty("verified").GetBoolean());
        Assert.True(doc.RootElement.GetProperty("agentCreated").GetBoolean());
        Assert.Equal("rewritten", doc.RootElement.GetProperty("rewrite").GetString());
        Assert.False(doc.RootElement.TryGetProperty("apiKey", out _)); // it went into the file, not to stdout
        var vars = VariablesOf(doc);
        Assert.Equal(("secret", "stored", "stripe-api-key"),
            (vars["STRIPE_API_KEY"].GetProperty("classification").GetString(), vars["STRIPE_API_KEY"].GetProperty("status").GetString(), vars["STRIPE_API_KEY"].GetProperty("label").GetString()));
        Assert.Equal("GET /v0/vault/signing-key", vars["SIGNING_KEY"].GetProperty("rest").GetString());
        Assert.Equal("db-password", vars["DB_PASSWORD"].GetProperty("configurationKey").GetString());
        Assert.Equal(("config", "kept"), (vars["PORT"].GetProperty("classification").GetString(), vars["PORT"].GetProperty("status").GetString()));
        Assert.Equal(["STRIPE_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "SIGNING_KEY"], doc.RootElement.GetProperty("stored").EnumerateArray().Select(e => e.GetString()));

        var text = await File.ReadAllTextAsync(env);
        AssertNoValueIn(text);
        Assert.StartsWith("# settings\nPORT=3000\nLOG_LEVEL=info # verbose in dev\n\n# STRIPE_API_KEY moved to AgentScope", text, StringComparison.Ordinal);
        Assert.Contains("\nAPP_URL=https://app.example.com\n", text, StringComparison.Ordinal);
        var keyLine = text.Split('\n').Single(l => l.StartsWith("AGENTSCOPE_API_KEY=", StringComparison.Ordinal));
        var key = keyLine["AGENTSCOPE_API_KEY=".Length..];
        Assert.StartsWith("ask_support-bot_", key, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(mode, File.GetUnixFileMode(env));
        }

        Assert.Equal([".env"], Directory.GetFiles(_dir).Select(Path.GetFileName)); // no temporary file, no backup

        // The key in the file is the agent's; the agent reads the values it used to find in the file.
        var get = await _cli.RunAsync("secret get signing-key", apiKey: key);
        Assert.Equal(0, get.ExitCode);
        Assert.Equal(_pem + "\n", get.Stdout);
        Assert.Equal(_github + "\n", (await _cli.RunAsync("secret get github-token", apiKey: key)).Stdout);

        var audit = await _cli.RunAsync("audit tail --json -n 100");
        Assert.Contains("\"label\":\"stripe-api-key\"", audit.Stdout, StringComparison.Ordinal);
        AssertNoValueIn(await File.ReadAllTextAsync(AuditFile));
        Assert.Equal(0, (await _cli.RunAsync("audit verify")).ExitCode);
        AssertNoValueUnderTheHome();
    }

    [Fact]
    public async Task A_failure_midway_leaves_the_file_untouched_reports_what_was_stored_and_a_rerun_completes()
    {
        await InitAsync();
        var big = "TOKEN_" + new string('x', 300);
        var env = WriteEnv($"PORT=1\nA_TOKEN={_github}\nB_TOKEN={big}\nC_PASSWORD={_dbPassword}\n");
        var before = await File.ReadAllBytesAsync(env);

        // The core refuses values over MaxValueBytes: B_TOKEN fails after A_TOKEN was stored.
        var small = new Dictionary<string, string> { ["AGENTSCOPE__Core__MaxValueBytes"] = "100" };
        var failed = await _cli.RunAsync($"import-env {env} --agent bot --create-agent --rewrite --json", env: small);

        Assert.Equal(2, failed.ExitCode);
        Assert.Equal(before, await File.ReadAllBytesAsync(env));
        using (var doc = JsonDocument.Parse(failed.Stdout))
        {
            Assert.Equal("value_too_large", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(["A_TOKEN"], doc.RootElement.GetProperty("stored").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(("stored", "failed", "not-attempted"), (StatusOf(doc, "A_TOKEN"), StatusOf(doc, "B_TOKEN"), StatusOf(doc, "C_PASSWORD")));
            Assert.Equal("not-done", doc.RootElement.GetProperty("rewrite").GetString());
            Assert.StartsWith("ask_bot_", doc.RootElement.GetProperty("apiKey").GetString(), StringComparison.Ordinal); // shown, since the file did not get it
        }

        Assert.Contains("error: storing B_TOKEN as 'b-token' failed", failed.Stderr, StringComparison.Ordinal);
        Assert.Contains("stored before the failure: A_TOKEN", failed.Stderr, StringComparison.Ordinal);
        AssertNoValueIn(failed.Stdout, failed.Stderr);
        Assert.DoesNotContain(big, failed.All, StringComparison.Ordinal);

        var rerun = await _cli.RunAsync($"import-env {env} --agent bot --create-agent --rewrite --json");
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        using (var doc = JsonDocument.Parse(rerun.Stdout))
        {
            Assert.False(doc.RootElement.GetProperty("agentCreated").GetBoolean());
            Assert.Equal(("unchanged", "stored", "stored"), (StatusOf(doc, "A_TOKEN"), StatusOf(doc, "B_TOKEN"), StatusOf(doc, "C_PASSWORD")));
        }

        Assert.Contains("already exists", rerun.Stderr, StringComparison.Ordinal);
        Assert.Equal("PORT=1\n# A_TOKEN moved to AgentScope: agent bot, label a-token\n# B_TOKEN moved to AgentScope: agent bot, label b-token\n" +
            "# C_PASSWORD moved to AgentScope: agent bot, label c-password\n", await File.ReadAllTextAsync(env));
        Assert.Equal(big + "\n", (await _cli.RunAsync("secret get b-token --agent bot")).Stdout);
        AssertNoValueUnderTheHome();
    }

    [Fact]
    public async Task Rerunning_a_complete_import_writes_nothing_new()
    {
        await InitAsync();
        var env = WriteEnv();
        Assert.Equal(0, (await _cli.RunAsync($"import-env {env} --agent bot --create-agent")).ExitCode);
        var again = await _cli.RunAsync($"import-env {env} --agent bot --json");
        Assert.Equal(0, again.ExitCode);
        using var doc = JsonDocument.Parse(again.Stdout);
        Assert.All(VariablesOf(doc).Values.Where(v => v.GetProperty("import").GetBoolean()), v => Assert.Equal("unchanged", v.GetProperty("status").GetString()));
        using var ls = JsonDocument.Parse((await _cli.RunAsync("secret ls --agent bot --json")).Stdout);
        Assert.All(ls.RootElement.GetProperty("labels").EnumerateArray(), l => Assert.Equal(1, l.GetProperty("version").GetInt64()));
        Assert.Equal(EnvText, await File.ReadAllTextAsync(env)); // no --rewrite: untouched
    }

    [Fact]
    public async Task Without_rewrite_a_new_agents_key_is_printed_once_as_the_last_line_of_stdout()
    {
        await InitAsync();
        var env = WriteEnv();
        var r = await _cli.RunAsync($"import-env {env} --agent bot --create-agent");
        Assert.Equal(0, r.ExitCode);
        var key = r.Stdout.TrimEnd('\n').Split('\n')[^1];
        Assert.StartsWith("ask_bot_", key, StringComparison.Ordinal);
        Assert.Contains("shown only once", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(_stripe + "\n", (await _cli.RunAsync("secret get stripe-api-key", apiKey: key)).Stdout);
    }

    [Fact]
    public async Task The_table_lists_each_variable_with_its_class_label_and_how_code_reads_it()
    {
        await InitAsync();
        var env = WriteEnv();
        var r = await _cli.RunAsync($"import-env {env} --agent bot --create-agent --only STRIPE_API_KEY,PORT --map PORT=app.port");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n');
        Assert.StartsWith("VARIABLE", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^PORT\s+2\s+config\s+stored\s+app\.port\s+no secret word.*; named by --only$", lines.Single(l => l.StartsWith("PORT ", StringComparison.Ordinal)));
        Assert.Matches(@"^GITHUB_TOKEN\s+6\s+secret\s+kept\s+-\s+.*not named by --only$", lines.Single(l => l.StartsWith("GITHUB_TOKEN ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("GET /v0/vault/app.port", StringComparison.Ordinal) && l.Contains("IConfiguration[\"app.port\"]", StringComparison.Ordinal));
        AssertNoValueIn(r.Stdout, r.Stderr);
    }

    [Fact]
    public async Task A_missing_agent_without_create_agent_is_not_found_and_nothing_changes()
    {
        await InitAsync();
        var env = WriteEnv();
        var r = await _cli.RunAsync($"import-env {env} --agent ghost --rewrite");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("pass --create-agent", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(EnvText, await File.ReadAllTextAsync(env));
        Assert.Equal(3, (await _cli.RunAsync("agent show ghost")).ExitCode);
    }

    [Theory]
    [InlineData("--agent bot --all --only PORT", "--all and --only cannot be combined")]
    [InlineData("--agent bot --backup", "--backup only applies with --rewrite")]
    [InlineData("", "--agent")]
    [InlineData("--agent Bad_Id", "invalid agent id")]
    [InlineData("--agent bot --map NOPE=x", "--map names 'NOPE'")]
    public async Task Bad_usage_exits_2_before_touching_anything(string options, string message)
    {
        await InitAsync();
        var env = WriteEnv();
        var r = await _cli.RunAsync($"import-env {env} {options}");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr, StringComparison.Ordinal);
        Assert.Equal(EnvText, await File.ReadAllTextAsync(env));
        AssertNoValueIn(r.Stdout, r.Stderr);
    }

    [Fact]
    public async Task A_missing_file_is_invalid_input()
    {
        await InitAsync();
        var r = await _cli.RunAsync($"import-env {Path.Combine(_dir, "nope.env")} --agent bot --create-agent");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no file", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(3, (await _cli.RunAsync("agent show bot")).ExitCode);
    }

    [Fact]
    public async Task A_file_tracked_or_not_ignored_by_git_draws_a_warning()
    {
        if (!await GitAsync("--version"))
        {
            return; // no git on this machine
        }

        await InitAsync();
        var env = WriteEnv();
        Assert.True(await GitAsync("init", "-q"));
        var notIgnored = await _cli.RunAsync($"import-env {env} --agent bot --create-agent --dry-run");
        Assert.Contains("is not ignored by git", notIgnored.Stderr, StringComparison.Ordinal);

        await File.WriteAllTextAsync(Path.Combine(_dir, ".gitignore"), ".env\n");
        var ignored = await _cli.RunAsync($"import-env {env} --agent bot --create-agent --dry-run");
        Assert.DoesNotContain("warning:", ignored.Stderr, StringComparison.Ordinal);

        Assert.True(await GitAsync("add", "-f", ".env"));
        var tracked = await _cli.RunAsync($"import-env {env} --agent bot --create-agent --dry-run --json");
        Assert.Contains("is tracked by git", tracked.Stderr, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(tracked.Stdout);
        Assert.Contains("is tracked by git", doc.RootElement.GetProperty("warnings")[0].GetString(), StringComparison.Ordinal);
    }

    private async Task<bool> GitAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            await p.StandardOutput.ReadToEndAsync();
            await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
