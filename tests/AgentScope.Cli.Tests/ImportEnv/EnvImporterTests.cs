using System.Text;
using System.Text.Json;
using AgentScope.Cli.ImportEnv;

namespace AgentScope.Cli.Tests.ImportEnv;

/// <summary>The import flow in process, over a backend that fails on demand.</summary>
public sealed class EnvImporterTests : IDisposable
{
    private const string Stripe = "sk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDeFgHiJk";
    private const string GitHub = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    private const string DbPassword = "correct-horse-battery-staple";
    private const string Session = "k8s9d7f6g5h4j3k2l1z0x9c8v7b6n5m4";

    private static readonly string Env =
        "# app\nPORT=3000\nSTRIPE_API_KEY=" + Stripe + "\nLOG_LEVEL=info # verbose in dev\n" +
        "GITHUB_TOKEN=\"" + GitHub + "\"\nDB_PASSWORD='" + DbPassword + "'\nexport SESSION_SECRET=" + Session + "\nREGION=eu-west-1\n";

    private static readonly string[] Values = [Stripe, GitHub, DbPassword, Session];

    private readonly ImportHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static Dictionary<string, ImportStatus> Statuses(ImportResult r) => r.Variables.ToDictionary(v => v.Name, v => v.Status);

    [Fact]
    public async Task An_import_stores_verifies_and_rewrites_the_file_without_the_secrets()
    {
        var file = _h.WriteEnv(Env);
        var r = await _h.ImportAsync(file);

        Assert.Null(r.Error);
        Assert.True(r.Verified);
        Assert.True(r.AgentCreated);
        Assert.Equal(RewriteOutcome.Rewritten, r.Rewrite);
        Assert.Null(r.ApiKey); // it went into the file, and only there
        Assert.Equal(["STRIPE_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "SESSION_SECRET"], r.Stored.Select(v => v.Name));
        Assert.Equal(Stripe, await _h.ReadAsync("bot", "stripe-api-key"));
        Assert.Equal(DbPassword, await _h.ReadAsync("bot", "db-password"));

        var text = await File.ReadAllTextAsync(file);
        var entries = AgentScope.DotEnv.DotEnvParser.Parse(text).ToDictionary(e => e.Key, e => e.Value.Reveal());
        Assert.Equal(["PORT", "LOG_LEVEL", "REGION", "AGENTSCOPE_API_KEY"], entries.Keys);
        Assert.StartsWith("ask_bot_", entries["AGENTSCOPE_API_KEY"], StringComparison.Ordinal);
        Assert.StartsWith("# app\nPORT=3000\n# STRIPE_API_KEY moved to AgentScope: agent bot, label stripe-api-key\nLOG_LEVEL=info # verbose in dev\n", text, StringComparison.Ordinal);
        Assert.All(Values, v => Assert.DoesNotContain(v, text, StringComparison.Ordinal));

        // The key in the file is the agent's: it authenticates as the agent, which reads what was imported.
        var vault = await _h.Authenticator.AuthenticateAgentAsync(entries["AGENTSCOPE_API_KEY"]);
        Assert.Equal(GitHub, (await vault.GetAsync("github-token")).Value.Reveal());
    }

    [Fact]
    public async Task A_failure_after_k_writes_leaves_the_file_untouched_and_says_what_was_stored_and_a_rerun_completes()
    {
        var file = _h.WriteEnv(Env);
        var before = await File.ReadAllBytesAsync(file);
        _h.Backend.FailEntryPut = 3;

        var failed = await _h.ImportAsync(file);

        Assert.NotNull(failed.Error);
        Assert.Equal(5, failed.ExitCode);
        Assert.Contains("storing DB_PASSWORD as 'db-password' failed", failed.Error.Message, StringComparison.Ordinal);
        Assert.Equal(RewriteOutcome.NotDone, failed.Rewrite);
        Assert.False(failed.Verified);
        Assert.Equal(before, await File.ReadAllBytesAsync(file));
        Assert.Equal(["STRIPE_API_KEY", "GITHUB_TOKEN"], failed.Stored.Select(v => v.Name));
        var s = Statuses(failed);
        Assert.Equal((ImportStatus.Stored, ImportStatus.Stored, ImportStatus.Failed, ImportStatus.NotAttempted, ImportStatus.Kept),
            (s["STRIPE_API_KEY"], s["GITHUB_TOKEN"], s["DB_PASSWORD"], s["SESSION_SECRET"], s["PORT"]));
        Assert.NotNull(failed.ApiKey); // the agent was created and its key is not in the file: it must be shown
        Assert.Contains("stored before the failure: STRIPE_API_KEY, GITHUB_TOKEN", ImportReport.Summary(failed), StringComparison.Ordinal);

        _h.Backend.FailEntryPut = null;
        var putsBefore = _h.Backend.EntryPuts;
        var rerun = await _h.ImportAsync(file);

        Assert.Null(rerun.Error);
        Assert.False(rerun.AgentCreated); // it exists now: used as is
        Assert.Contains(rerun.Warnings, w => w.Contains("already exists", StringComparison.Ordinal));
        s = Statuses(rerun);
        Assert.Equal((ImportStatus.Unchanged, ImportStatus.Unchanged, ImportStatus.Stored, ImportStatus.Stored),
            (s["STRIPE_API_KEY"], s["GITHUB_TOKEN"], s["DB_PASSWORD"], s["SESSION_SECRET"]));
        Assert.Equal(2, _h.Backend.EntryPuts - putsBefore); // only what was missing was written
        Assert.Equal(RewriteOutcome.Rewritten, rerun.Rewrite);
        Assert.Equal(Session, await _h.ReadAsync("bot", "session-secret"));
        var text = await File.ReadAllTextAsync(file);
        Assert.All(Values, v => Assert.DoesNotContain(v, text, StringComparison.Ordinal));
        Assert.DoesNotContain("AGENTSCOPE_API_KEY=", text, StringComparison.Ordinal); // an existing agent gets no new key
    }

    [Fact]
    public async Task A_rerun_of_a_complete_import_writes_nothing()
    {
        var file = _h.WriteEnv(Env);
        Assert.Null((await _h.ImportAsync(file, rewrite: false)).Error);
        var puts = _h.Backend.EntryPuts;
        var again = await _h.ImportAsync(file, rewrite: false, create: false);
        Assert.Null(again.Error);
        Assert.All(again.Variables.Where(v => v.Import), v => Assert.Equal(ImportStatus.Unchanged, v.Status));
        Assert.Equal(puts, _h.Backend.EntryPuts);
        Assert.Equal(1, (await (await _h.Admin.OpenVaultAsync("bot")).ListAsync()).Single(i => i.Label == "stripe-api-key").Version);
    }

    [Fact]
    public async Task A_changed_value_in_the_file_updates_the_label()
    {
        var file = _h.WriteEnv(Env);
        Assert.Null((await _h.ImportAsync(file, rewrite: false)).Error);
        await File.WriteAllTextAsync(file, Env.Replace(Stripe, Stripe + "X", StringComparison.Ordinal));
        var again = await _h.ImportAsync(file, rewrite: false);
        Assert.Equal(ImportStatus.Updated, Statuses(again)["STRIPE_API_KEY"]);
        Assert.Equal(Stripe + "X", await _h.ReadAsync("bot", "stripe-api-key"));
    }

    [Fact]
    public async Task A_read_back_that_differs_fails_the_import_and_leaves_the_file()
    {
        var file = _h.WriteEnv(Env);
        var before = await File.ReadAllBytesAsync(file);
        _h.Backend.CorruptReads = true;
        var r = await _h.ImportAsync(file);
        Assert.NotNull(r.Error);
        Assert.Contains("STRIPE_API_KEY read back from 'stripe-api-key' differs", r.Error.Message, StringComparison.Ordinal);
        Assert.False(r.Verified);
        Assert.Equal(before, await File.ReadAllBytesAsync(file));
        Assert.Equal(ImportStatus.Failed, Statuses(r)["STRIPE_API_KEY"]);
    }

    [Fact]
    public async Task A_dry_run_changes_nothing_anywhere()
    {
        var file = _h.WriteEnv(Env);
        var before = await File.ReadAllBytesAsync(file);
        var r = await _h.ImportAsync(file, dryRun: true);
        Assert.Null(r.Error);
        Assert.Equal(RewriteOutcome.WouldRewrite, r.Rewrite);
        Assert.All(r.Variables.Where(v => v.Import), v => Assert.Equal(ImportStatus.Planned, v.Status));
        Assert.Equal(before, await File.ReadAllBytesAsync(file));
        Assert.Equal(0, _h.Backend.EntryPuts);
        Assert.Empty(_h.Audit.Events);
        Assert.Empty(await _h.Admin.ListAgentsAsync());
    }

    [Fact]
    public async Task Without_create_agent_a_missing_agent_is_an_error_before_anything_is_written()
    {
        var file = _h.WriteEnv(Env);
        var r = await _h.ImportAsync(file, create: false);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("pass --create-agent", r.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(0, _h.Backend.EntryPuts);
        Assert.Empty(r.Stored);
    }

    [Fact]
    public async Task A_leftover_copy_of_a_secret_in_a_comment_stops_the_rewrite_before_any_write()
    {
        var file = _h.WriteEnv(Env + "# old: " + Stripe + "\n");
        var r = await _h.ImportAsync(file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("value of STRIPE_API_KEY also appears elsewhere", r.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("(line 9:", r.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Stripe, r.Error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _h.Backend.EntryPuts);
        Assert.Empty(await _h.Admin.ListAgentsAsync());
    }

    [Fact]
    public async Task A_secret_embedded_in_a_kept_variable_stops_the_rewrite()
    {
        var file = _h.WriteEnv("DB_PASSWORD=" + DbPassword + "\nDSN_TEMPLATE=host=db user=app pw=" + DbPassword + " sslmode=require\n");
        var r = await _h.ImportAsync(file, selection: new ImportSelection { Only = ["DB_PASSWORD"] });
        Assert.Contains("value of DB_PASSWORD also appears elsewhere", r.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("(line 2:", r.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_short_configuration_value_imported_with_all_may_appear_in_a_comment()
    {
        var file = _h.WriteEnv("# production settings\nNODE_ENV=production\nAPI_TOKEN=" + GitHub + "\n");
        var r = await _h.ImportAsync(file, selection: new ImportSelection { All = true });
        Assert.Null(r.Error);
        Assert.StartsWith("# production settings\n# NODE_ENV moved", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_with_nothing_to_import_is_left_as_it_is()
    {
        var file = _h.WriteEnv("PORT=1\n");
        var modified = File.GetLastWriteTimeUtc(file);
        var r = await _h.ImportAsync(file, create: false, backup: true);
        Assert.Equal(3, r.ExitCode); // the agent must exist even with nothing to import
        await _h.Admin.CreateAgentAsync("bot");
        r = await _h.ImportAsync(file, create: false, backup: true);
        Assert.Null(r.Error);
        Assert.Equal(RewriteOutcome.Rewritten, r.Rewrite);
        Assert.Null(r.BackupPath);
        Assert.Equal(modified, File.GetLastWriteTimeUtc(file));
        Assert.Equal([file], Directory.GetFiles(_h.Dir));
    }

    [Fact]
    public async Task A_label_holding_a_totp_entry_is_a_conflict_found_before_writing()
    {
        await _h.Admin.CreateAgentAsync("bot");
        await (await _h.Admin.OpenVaultAsync("bot")).StoreAsync("github-token", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });
        var puts = _h.Backend.EntryPuts;
        var r = await _h.ImportAsync(_h.WriteEnv(Env));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("label 'github-token' of GITHUB_TOKEN already holds a TOTP entry", r.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(puts, _h.Backend.EntryPuts);
    }

    [Fact]
    public async Task A_file_edited_during_the_import_is_not_rewritten()
    {
        var file = _h.WriteEnv(Env);
        _h.Backend.OnEntryPut = _ => File.AppendAllText(file, "EDITED=yes\n");
        var r = await _h.ImportAsync(file);
        Assert.Contains("changed during the import", r.Error!.Message, StringComparison.Ordinal);
        Assert.True(r.Verified);
        Assert.EndsWith("EDITED=yes\n", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        Assert.Equal(4, r.Stored.Count());
    }

    [Fact]
    public async Task The_rewrite_keeps_the_unix_file_mode_and_crlf_line_endings()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var file = _h.WriteEnv(Env.Replace("\n", "\r\n", StringComparison.Ordinal));
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(file, mode);
        Assert.Null((await _h.ImportAsync(file)).Error);
        Assert.Equal(mode, File.GetUnixFileMode(file));
        var text = await File.ReadAllTextAsync(file);
        Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal([file], Directory.GetFiles(_h.Dir)); // no temporary file, no backup
    }

    [Fact]
    public async Task A_symbolic_link_is_followed_and_stays_a_link()
    {
        var target = _h.WriteEnv(Env, "real.env");
        var link = Path.Combine(_h.Dir, ".env");
        File.CreateSymbolicLink(link, target);
        Assert.Null((await _h.ImportAsync(link)).Error);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.DoesNotContain(Stripe, await File.ReadAllTextAsync(target), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_keeps_the_original_owner_only_and_never_overwrites_an_earlier_backup()
    {
        var file = _h.WriteEnv(Env);
        var original = await File.ReadAllBytesAsync(file);
        var r = await _h.ImportAsync(file, backup: true);
        Assert.Equal(file + ".bak", r.BackupPath);
        Assert.Equal(original, await File.ReadAllBytesAsync(file + ".bak"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file + ".bak"));
        }

        await File.WriteAllTextAsync(file, Env);
        var second = await _h.ImportAsync(file, backup: true);
        Assert.Equal(file + ".bak.1", second.BackupPath);
        Assert.Equal(original, await File.ReadAllBytesAsync(file + ".bak"));
    }

    [Fact]
    public async Task A_file_that_is_not_utf8_can_be_imported_but_not_rewritten()
    {
        var file = Path.Combine(_h.Dir, ".env");
        await File.WriteAllBytesAsync(file, [.. Encoding.UTF8.GetBytes("COMMENT_LATIN1=caf"), 0xE9, (byte)'\n', .. Encoding.UTF8.GetBytes("API_TOKEN=" + GitHub + "\n")]);
        var refused = await _h.ImportAsync(file);
        Assert.Contains("not valid UTF-8", refused.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(0, _h.Backend.EntryPuts);
        var imported = await _h.ImportAsync(file, rewrite: false);
        Assert.Null(imported.Error);
        Assert.Equal(GitHub, await _h.ReadAsync("bot", "api-token"));
    }

    [Fact]
    public async Task An_existing_agentscope_key_line_is_kept_for_an_existing_agent_and_replaced_for_a_new_one()
    {
        var file = _h.WriteEnv("AGENTSCOPE_API_KEY=ask_old_0123456789ab_previous\nAPI_TOKEN=" + GitHub + "\n");
        var r = await _h.ImportAsync(file);
        Assert.Null(r.Error);
        var env = AgentScope.DotEnv.DotEnvParser.Parse(await File.ReadAllTextAsync(file)).ToDictionary(e => e.Key, e => e.Value.Reveal());
        Assert.Equal(["AGENTSCOPE_API_KEY"], env.Keys);
        Assert.StartsWith("ask_bot_", env["AGENTSCOPE_API_KEY"], StringComparison.Ordinal);
        Assert.Equal(ImportStatus.Kept, Statuses(r)["AGENTSCOPE_API_KEY"]);

        var second = _h.WriteEnv("AGENTSCOPE_API_KEY=ask_bot_0123456789ab_kept\nOTHER_TOKEN=" + Session + "\n", "second.env");
        Assert.Null((await _h.ImportAsync(second)).Error);
        Assert.Equal("AGENTSCOPE_API_KEY=ask_bot_0123456789ab_kept\n# OTHER_TOKEN moved to AgentScope: agent bot, label other-token\n", await File.ReadAllTextAsync(second));
    }

    [Fact]
    public async Task No_value_reaches_the_audit_trail_the_report_or_the_json()
    {
        var file = _h.WriteEnv(Env);
        var r = await _h.ImportAsync(file);
        Assert.Null(r.Error);
        Assert.Contains(_h.Audit.Events, e => e.Action == "write" && e.Label == "stripe-api-key" && e.Justification == "agentscope import-env");
        var audit = string.Join("\n", _h.Audit.Events.Select(e => JsonSerializer.Serialize(e)));
        using var table = new StringWriter();
        await ImportReport.WriteTableAsync(r, table);
        var json = JsonSerializer.Serialize(ImportReport.ToJson(r), CliJson.Default.ImportEnvJson);
        foreach (var text in new[] { audit, table.ToString(), json, ImportReport.Summary(r), string.Join("\n", r.Variables) })
        {
            Assert.All(Values, v => Assert.DoesNotContain(v, text, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_plan_problem_is_reported_before_anything_is_written()
    {
        var file = _h.WriteEnv("API_KEY=" + Session + "\napi-key=" + Stripe + "\n");
        var r = await _h.ImportAsync(file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("API_KEY, api-key would all be stored as 'api-key'", r.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(0, _h.Backend.EntryPuts);
        Assert.Empty(await _h.Admin.ListAgentsAsync());
    }
}
