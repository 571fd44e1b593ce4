using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using Amazon.Runtime;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

public sealed class AwsSecretsManagerBackendTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private const string Value = "sk_live_TOPSECRET_51Hq";

    private static BackendEntry Entry(string ns, string label, string value, long version = 1, bool encrypted = false, DateTimeOffset? expires = null) =>
        new(new EntryMetadata(new EntryKey(ns, label), SecretKind.Generic, version, T0, T0.AddSeconds(version), expires, encrypted), Encoding.UTF8.GetBytes(value));

    private static BackendEntry Entry(string ns, string label, byte[] value, bool encrypted) =>
        new(new EntryMetadata(new EntryKey(ns, label), SecretKind.Generic, 1, T0, T0, null, encrypted), value);

    private static void AssertNoSecretIn(Exception e, string secret)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            Assert.DoesNotContain(secret, x.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SecretsManagerTestServer.SecretKey, e.ToString(), StringComparison.Ordinal);
    }

    // ---- layout ----

    [Fact]
    public async Task Entries_are_named_by_prefix_agent_and_label_and_tagged_for_enumeration()
    {
        await using var t = await TestBackend.StartAsync(o => o.Prefix = "team-a/agentscope");
        await t.Backend.PutAsync(Entry("alpha", "stripe-key", Value, expires: T0.AddDays(1)));

        Assert.Equal(["team-a/agentscope/alpha/stripe-key"], t.Server.LiveNames());
        var tags = t.Server.Tags("team-a/agentscope/alpha/stripe-key");
        Assert.Equal("true", tags["agentscope:managed"]);
        Assert.Equal("alpha", tags["agentscope:agent"]);
        Assert.Equal("stripe-key", tags["agentscope:label"]);
        Assert.Equal("generic", tags["agentscope:kind"]);
        Assert.Equal("1", tags["agentscope:version"]);
        Assert.Equal("false", tags["agentscope:encrypted"]);
        Assert.Equal(SecretLayout.Timestamp(T0.AddDays(1)), tags["agentscope:expires"]);
        Assert.All(tags, tag => Assert.True(tag.Key.Length <= 128 && tag.Value.Length <= 256));
    }

    [Fact]
    public async Task A_plain_value_stays_readable_in_the_envelope_and_ciphertext_is_base64()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "plain", Value));
        var cipher = RandomNumberGenerator.GetBytes(40);
        await t.Backend.PutAsync(Entry("alpha", "cipher", cipher, encrypted: true));

        using var plain = JsonDocument.Parse(t.Server.CurrentSecretString("agentscope/alpha/plain")!);
        Assert.Equal("utf8", plain.RootElement.GetProperty("encoding").GetString());
        Assert.Equal(Value, plain.RootElement.GetProperty("value").GetString());
        using var enc = JsonDocument.Parse(t.Server.CurrentSecretString("agentscope/alpha/cipher")!);
        Assert.Equal("base64", enc.RootElement.GetProperty("encoding").GetString());
        Assert.Equal(Convert.ToBase64String(cipher), enc.RootElement.GetProperty("value").GetString());
        Assert.True(enc.RootElement.GetProperty("encrypted").GetBoolean());
    }

    [Fact]
    public async Task An_overwrite_is_a_new_version_with_the_old_one_kept_as_previous()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "db", "one"));
        await t.Backend.PutAsync(Entry("alpha", "db", "two", version: 2));

        var stages = t.Server.VersionStages("agentscope/alpha/db");
        Assert.Equal(2, stages.Count);
        Assert.EndsWith(":AWSPREVIOUS", stages[0], StringComparison.Ordinal);
        Assert.EndsWith(":AWSCURRENT", stages[1], StringComparison.Ordinal);
        Assert.Equal("2", t.Server.Tags("agentscope/alpha/db")["agentscope:version"]);
        Assert.Equal(1, t.Server.Calls("CreateSecret") - 1); // the second store tried to create, then put a version
        Assert.Equal(1, t.Server.Calls("PutSecretValue"));
        Assert.Equal(1, t.Server.Calls("TagResource"));
    }

    [Fact]
    public async Task Each_rotation_moves_awscurrent_to_the_new_version_and_awsprevious_to_the_one_it_replaced()
    {
        await using var t = await TestBackend.StartAsync();
        const string name = "agentscope/alpha/db";
        static string ValueIn(string? secretString) => JsonDocument.Parse(secretString!).RootElement.GetProperty("value").GetString()!;

        await t.Backend.PutAsync(Entry("alpha", "db", "one"));
        var first = t.Server.VersionIdAt(name, "AWSCURRENT");
        Assert.Null(t.Server.VersionIdAt(name, "AWSPREVIOUS"));

        await t.Backend.PutAsync(Entry("alpha", "db", "two", version: 2));
        var second = t.Server.VersionIdAt(name, "AWSCURRENT");
        Assert.NotEqual(first, second);
        Assert.Equal(first, t.Server.VersionIdAt(name, "AWSPREVIOUS"));
        Assert.Equal("two", ValueIn(t.Server.SecretStringAt(name, "AWSCURRENT")));
        Assert.Equal("one", ValueIn(t.Server.SecretStringAt(name, "AWSPREVIOUS")));

        await t.Backend.PutAsync(Entry("alpha", "db", "three", version: 3));
        var third = t.Server.VersionIdAt(name, "AWSCURRENT");
        Assert.DoesNotContain(third, new[] { first, second });
        Assert.Equal(second, t.Server.VersionIdAt(name, "AWSPREVIOUS"));
        Assert.Equal("three", ValueIn(t.Server.SecretStringAt(name, "AWSCURRENT")));
        Assert.Equal("two", ValueIn(t.Server.SecretStringAt(name, "AWSPREVIOUS")));
        // The first version lost its last label: AWS deprecates and removes it.
        Assert.Equal([$"{second}:AWSPREVIOUS", $"{third}:AWSCURRENT"], t.Server.VersionStages(name));

        Assert.Equal("three", Encoding.UTF8.GetString((await t.Backend.GetAsync(new EntryKey("alpha", "db")))!.Value));
        Assert.Equal(2, t.Server.Calls("PutSecretValue"));
    }

    [Fact]
    public async Task The_kms_key_is_passed_on_creation()
    {
        await using var t = await TestBackend.StartAsync(o => o.KmsKeyId = "alias/agentscope");
        await t.Backend.PutAsync(Entry("alpha", "k", Value));
        Assert.Equal("alias/agentscope", t.Server.KmsKeyId("agentscope/alpha/k"));
    }

    // ---- size ----

    [Fact]
    public async Task The_declared_limit_fits_the_65536_byte_secret_string_in_the_widest_case()
    {
        await using var t = await TestBackend.StartAsync();
        var max = t.Backend.Capabilities.MaxValueBytes;
        Assert.Equal(48_804, max); // the number documented in docs/providers/aws-secrets-manager.md

        // Longest agent id and label, an expiry, random bytes (base64, the widest encoding).
        var ns = new string('z', Names.MaxAgentIdLength);
        var label = new string('L', Names.MaxLabelLength);
        var bytes = RandomNumberGenerator.GetBytes(max);
        var entry = new BackendEntry(new EntryMetadata(new EntryKey(ns, label), SecretKind.Totp, long.MaxValue, T0, T0, T0.AddYears(1), true), bytes);
        await t.Backend.PutAsync(entry);
        Assert.Equal(bytes, (await t.Backend.GetAsync(new EntryKey(ns, label)))!.Value);
        Assert.True(Encoding.UTF8.GetByteCount(t.Server.CurrentSecretString($"agentscope/{ns}/{label}")!) <= SecretsManagerTestServer.SecretStringMaxBytes);

        // Text that JSON escaping would double falls back to base64 and still fits.
        var quotes = new string('"', max);
        await t.Backend.PutAsync(Entry("alpha", "quotes", quotes));
        Assert.Equal(quotes, Encoding.UTF8.GetString((await t.Backend.GetAsync(new EntryKey("alpha", "quotes")))!.Value));
    }

    [Fact]
    public async Task A_value_over_the_limit_is_refused_before_any_call_and_the_message_holds_no_value()
    {
        await using var t = await TestBackend.StartAsync();
        var tooBig = "SECRET" + new string('x', t.Backend.Capabilities.MaxValueBytes);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.PutAsync(Entry("alpha", "big", tooBig)).AsTask());
        Assert.Equal(ErrorKind.ValueTooLarge, e.Kind);
        Assert.Equal(0, t.Server.TotalCalls);
        AssertNoSecretIn(e, "SECRETxxxx");
    }

    // ---- deletion and re-creation ----

    [Fact]
    public async Task By_default_a_delete_frees_the_name_at_once()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "gone", Value));
        Assert.True(await t.Backend.DeleteAsync(new EntryKey("alpha", "gone")));
        Assert.Empty(t.Server.LiveNames());
        Assert.Empty(t.Server.ScheduledNames());
    }

    [Fact]
    public async Task With_a_recovery_window_a_delete_is_scheduled_and_storing_again_restores_and_overwrites()
    {
        await using var t = await TestBackend.StartAsync(o => o.RecoveryWindowDays = 7);
        await t.Backend.PutAsync(Entry("alpha", "again", "first"));
        Assert.True(await t.Backend.DeleteAsync(new EntryKey("alpha", "again")));
        Assert.Equal(["agentscope/alpha/again"], t.Server.ScheduledNames());

        Assert.Null(await t.Backend.GetAsync(new EntryKey("alpha", "again")));
        Assert.Empty(await TestBackend.ToListAsync(t.Backend.ListAsync("alpha")));
        Assert.False(await t.Backend.DeleteAsync(new EntryKey("alpha", "again")));

        await t.Backend.PutAsync(Entry("alpha", "again", "second"));
        var got = await t.Backend.GetAsync(new EntryKey("alpha", "again"));
        Assert.Equal("second", Encoding.UTF8.GetString(got!.Value));
        Assert.Equal(1, t.Server.Calls("RestoreSecret"));
        Assert.Equal(["agentscope/alpha/again"], t.Server.LiveNames());
    }

    [Fact]
    public async Task A_restore_whose_overwrite_fails_deletes_again_so_the_old_value_does_not_come_back()
    {
        await using var t = await TestBackend.StartAsync(o => { o.RecoveryWindowDays = 7; o.MaxRetries = 0; });
        await t.Backend.PutAsync(Entry("alpha", "again", "old-value"));
        await t.Backend.DeleteAsync(new EntryKey("alpha", "again"));
        t.Server.FailNext("PutSecretValue", 1, 500, "InternalServiceError");

        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.PutAsync(Entry("alpha", "again", "new-value")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Null(await t.Backend.GetAsync(new EntryKey("alpha", "again")));
        Assert.Equal(["agentscope/alpha/again"], t.Server.ScheduledNames());
    }

    [Fact]
    public async Task A_store_right_after_a_forced_delete_waits_for_the_purge_to_finish()
    {
        await using var t = await TestBackend.StartAsync(server: s => s.ForceDeletePurgeDelay = TimeSpan.FromMilliseconds(250));
        await t.Backend.PutAsync(Entry("alpha", "again", "first"));
        await t.Backend.DeleteAsync(new EntryKey("alpha", "again"));
        Assert.Equal(["agentscope/alpha/again"], t.Server.ScheduledNames());

        await t.Backend.PutAsync(Entry("alpha", "again", "second"));
        Assert.Equal("second", Encoding.UTF8.GetString((await t.Backend.GetAsync(new EntryKey("alpha", "again")))!.Value));
        Assert.True(t.Server.Calls("CreateSecret") >= 3);
    }

    [Fact]
    public async Task A_secret_scheduled_for_deletion_outside_agentscope_is_purged_by_a_default_delete()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "x", Value));
        using var http = new HttpClient();
        using var other = new AwsSecretsManagerBackend(TestBackend.OptionsFor(t.Server, o => o.RecoveryWindowDays = 30), http);
        await other.DeleteAsync(new EntryKey("alpha", "x"));
        Assert.Equal(["agentscope/alpha/x"], t.Server.ScheduledNames());

        Assert.False(await t.Backend.DeleteAsync(new EntryKey("alpha", "x")));
        Assert.Empty(t.Server.ScheduledNames());
    }

    [Fact]
    public async Task Concurrent_first_stores_of_one_label_all_succeed()
    {
        await using var t = await TestBackend.StartAsync();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => t.Backend.PutAsync(Entry("alpha", "raced", $"v{i}")).AsTask()));
        Assert.Equal(["agentscope/alpha/raced"], t.Server.LiveNames());
        Assert.StartsWith("v", Encoding.UTF8.GetString((await t.Backend.GetAsync(new EntryKey("alpha", "raced")))!.Value), StringComparison.Ordinal);
        Assert.Equal(7, t.Server.Calls("PutSecretValue"));
    }

    // ---- enumeration ----

    [Fact]
    public async Task Listing_one_agent_never_shows_a_neighbour_whose_id_extends_it()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "a", "1"));
        await t.Backend.PutAsync(Entry("alpha-2", "b", "2"));
        await t.Backend.PutAsync(Entry("alphabet", "c", "3"));

        Assert.Equal([new EntryKey("alpha", "a")], (await TestBackend.ToListAsync(t.Backend.ListAsync("alpha"))).Select(m => m.Key));
        Assert.Equal([new EntryKey("alpha-2", "b")], (await TestBackend.ToListAsync(t.Backend.ListAsync("alpha-2"))).Select(m => m.Key));
    }

    [Fact]
    public async Task Secrets_outside_the_layout_are_never_enumerated()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "mine", "1"));
        var managed = new[] { ("agentscope:managed", "true"), ("agentscope:agent", "alpha"), ("agentscope:label", "x") };
        t.Server.Seed("agentscope/alpha/unmanaged", "{}");                    // no marker: made by hand
        t.Server.Seed("agentscope/team2/alpha/x", "{}", managed);             // a nested installation's secret
        t.Server.Seed("agentscope2/alpha/x", "{}", managed);                  // another prefix
        t.Server.Seed("agentscope/alpha/bad label", "{}", managed);           // not a label

        Assert.Equal([new EntryKey("alpha", "mine")], (await TestBackend.ToListAsync(t.Backend.ListAsync("alpha"))).Select(m => m.Key));
        Assert.Equal([new EntryKey("alpha", "mine")], (await TestBackend.ToListAsync(t.Backend.ListAllAsync())).Select(m => m.Key));
    }

    [Fact]
    public async Task Listing_pages_past_one_hundred_and_reads_no_values()
    {
        await using var t = await TestBackend.StartAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, 250), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, ct) => await t.Backend.PutAsync(Entry("bulk", $"l-{i:D3}", "v", version: i + 1), ct));
        await t.Backend.PutAsync(Entry("other", "x", "v"));
        t.Server.ResetCalls();

        var listed = await TestBackend.ToListAsync(t.Backend.ListAsync("bulk"));
        Assert.Equal(250, listed.Select(m => m.Key.Label).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i).ToHashSet(), listed.Select(m => m.Version).ToHashSet());
        Assert.Equal(3, t.Server.Calls("ListSecrets"));
        Assert.Equal(0, t.Server.Calls("GetSecretValue"));

        Assert.Equal(251, (await TestBackend.ToListAsync(t.Backend.ListAllAsync())).Count);
    }

    [Fact]
    public async Task Listing_follows_next_tokens_across_short_and_empty_pages()
    {
        await using var t = await TestBackend.StartAsync(server: s => s.SparsePages = true);
        for (var i = 0; i < 150; i++)
        {
            t.Server.Seed($"someone-else/{i}", "{}");
        }

        await t.Backend.PutAsync(Entry("alpha", "late", "v"));
        var listed = await TestBackend.ToListAsync(t.Backend.ListAsync("alpha"));
        Assert.Equal([new EntryKey("alpha", "late")], listed.Select(m => m.Key));
        Assert.Equal(2, t.Server.Calls("ListSecrets"));
    }

    [Fact]
    public async Task When_tags_are_stale_listing_reads_the_envelope_instead()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "m", "v", version: 4));
        t.Server.SetTagOutOfBand("agentscope/alpha/m", "agentscope:version", null);

        var m = Assert.Single(await TestBackend.ToListAsync(t.Backend.ListAsync("alpha")));
        Assert.Equal(4, m.Version);
        Assert.Equal(1, t.Server.Calls("GetSecretValue"));
    }

    [Fact]
    public async Task A_secret_edited_outside_agentscope_is_reported_without_its_value()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "edited", Value));
        t.Server.OverwriteOutOfBand("agentscope/alpha/edited", "HAND-EDITED-SECRET");

        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.GetAsync(new EntryKey("alpha", "edited")).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        Assert.Contains("not in AgentScope's format", e.Message, StringComparison.Ordinal);
        AssertNoSecretIn(e, "HAND-EDITED-SECRET");
    }

    [Fact]
    public async Task A_value_copied_from_another_entry_is_not_accepted_as_this_one()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "a", "for-alpha"));
        await t.Backend.PutAsync(Entry("beta", "a", "for-beta"));
        t.Server.OverwriteOutOfBand("agentscope/beta/a", t.Server.CurrentSecretString("agentscope/alpha/a")!);

        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.GetAsync(new EntryKey("beta", "a")).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
    }

    // ---- failures ----

    [Fact]
    public async Task Throttling_is_retried_until_it_succeeds()
    {
        await using var t = await TestBackend.StartAsync();
        t.Server.FailNext("CreateSecret", 3);
        await t.Backend.PutAsync(Entry("alpha", "k", Value));
        Assert.Equal(4, t.Server.Calls("CreateSecret"));
        Assert.Equal(Value, Encoding.UTF8.GetString((await t.Backend.GetAsync(new EntryKey("alpha", "k")))!.Value));
    }

    [Theory]
    [InlineData(500, "InternalServiceError")]
    [InlineData(503, "ServiceUnavailable")]
    public async Task Server_errors_are_retried_until_they_pass(int status, string type)
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "k", Value));
        t.Server.FailNext("GetSecretValue", 2, status, type);
        Assert.NotNull(await t.Backend.GetAsync(new EntryKey("alpha", "k")));
        Assert.Equal(3, t.Server.Calls("GetSecretValue"));
    }

    [Fact]
    public async Task Exhausted_retries_surface_as_backend_unavailable_without_the_value()
    {
        await using var t = await TestBackend.StartAsync(o => o.MaxRetries = 2);
        t.Server.FailNext("CreateSecret", 10);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.PutAsync(Entry("alpha", "k", Value)).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.NotNull(e.RetryAfter);
        Assert.Contains("ThrottlingException", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, t.Server.Calls("CreateSecret"));
        AssertNoSecretIn(e, Value);
    }

    [Fact]
    public async Task A_slow_service_times_out_and_surfaces_as_backend_unavailable()
    {
        await using var t = await TestBackend.StartAsync(o => { o.RequestTimeout = TimeSpan.FromMilliseconds(100); o.MaxRetries = 1; },
            s => s.Latency = TimeSpan.FromMilliseconds(400));
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.GetAsync(new EntryKey("alpha", "k")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_endpoint_surfaces_as_backend_unavailable()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var t = await TestBackend.StartAsync(o => { o.ServiceUrl = new Uri($"http://127.0.0.1:{port}/"); o.MaxRetries = 1; });
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
    }

    [Theory]
    [InlineData("CreateSecret")]
    [InlineData("GetSecretValue")]
    [InlineData("DeleteSecret")]
    [InlineData("ListSecrets")]
    public async Task Access_denied_names_the_missing_iam_action(string operation)
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.PutAsync(Entry("alpha", "k", Value));
        t.Server.Deny("secretsmanager:" + operation);

        var e = await Assert.ThrowsAsync<AgentScopeException>(async () =>
        {
            switch (operation)
            {
                case "CreateSecret": await t.Backend.PutAsync(Entry("alpha", "new", Value)); break;
                case "GetSecretValue": await t.Backend.GetAsync(new EntryKey("alpha", "k")); break;
                case "DeleteSecret": await t.Backend.DeleteAsync(new EntryKey("alpha", "k")); break;
                default: await TestBackend.ToListAsync(t.Backend.ListAsync("alpha")); break;
            }
        });
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        Assert.Contains("secretsmanager:" + operation, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, t.Server.Calls(operation) - (operation == "CreateSecret" ? 1 : 0)); // not retried
        AssertNoSecretIn(e, Value);
    }

    [Fact]
    public async Task A_wrong_secret_key_fails_the_servers_signature_check_and_is_a_permission_error()
    {
        await using var t = await TestBackend.StartAsync(o =>
            o.Credentials = new BasicAWSCredentials(SecretsManagerTestServer.AccessKey, "not-the-right-secret-key-at-all"));
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        Assert.Contains("InvalidSignatureException", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, t.Server.SignatureFailures);
        AssertNoSecretIn(e, "not-the-right-secret-key-at-all");
    }

    [Fact]
    public async Task An_unknown_access_key_is_a_permission_error()
    {
        await using var t = await TestBackend.StartAsync(o => o.Credentials = new BasicAWSCredentials("AKIDUNKNOWN", "whatever"));
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.GetAsync(new EntryKey("alpha", "k")).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        Assert.Contains("UnrecognizedClientException", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Temporary_credentials_send_their_session_token()
    {
        await using var t = await TestBackend.StartAsync(
            o => o.Credentials = new SessionAWSCredentials(SecretsManagerTestServer.AccessKey, SecretsManagerTestServer.SecretKey, "FwoGZXIvYXdzEXAMPLETOKEN"),
            s => s.RequiredSessionToken = "FwoGZXIvYXdzEXAMPLETOKEN");
        await t.Backend.PutAsync(Entry("alpha", "k", Value));
        Assert.NotNull(await t.Backend.GetAsync(new EntryKey("alpha", "k")));
        Assert.Equal(0, t.Server.SignatureFailures);
    }

    [Fact]
    public async Task A_throttled_delete_storm_completes_without_failures()
    {
        await using var t = await TestBackend.StartAsync(o =>
        {
            o.MaxRetries = 12;
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(40);
            o.MaxRetryDelay = TimeSpan.FromMilliseconds(500);
        });
        await Parallel.ForEachAsync(Enumerable.Range(0, 100), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, ct) => await t.Backend.PutAsync(Entry("storm", $"l-{i:D3}", "v"), ct));
        t.Server.SetRateLimit("DeleteSecret", 50);

        var results = new bool[100];
        await Parallel.ForEachAsync(Enumerable.Range(0, 100), new ParallelOptions { MaxDegreeOfParallelism = t.Backend.Capabilities.MaxConcurrency },
            async (i, ct) => results[i] = await t.Backend.DeleteAsync(new EntryKey("storm", $"l-{i:D3}"), ct));

        Assert.All(results, Assert.True);
        Assert.True(t.Server.ThrottledCount > 0);
        Assert.Empty(t.Server.LiveNames());
    }

    [Fact]
    public async Task A_caller_cancellation_is_not_turned_into_an_error()
    {
        await using var t = await TestBackend.StartAsync(server: s => s.Latency = TimeSpan.FromSeconds(2));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Backend.GetAsync(new EntryKey("alpha", "k"), cts.Token).AsTask());
    }

    [Fact]
    public async Task The_health_check_lists_once()
    {
        await using var t = await TestBackend.StartAsync();
        await t.Backend.CheckHealthAsync();
        Assert.Equal(1, t.Server.TotalCalls);
        t.Server.Deny("secretsmanager:ListSecrets");
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
    }

    [Fact]
    public async Task Coordinates_outside_the_grammar_are_refused_without_a_call()
    {
        await using var t = await TestBackend.StartAsync();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => t.Backend.GetAsync(new EntryKey("Alpha", "../x")).AsTask());
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Throws<AgentScopeException>(() => t.Backend.ListAsync("a/b"));
        Assert.Equal(0, t.Server.TotalCalls);
    }
}
