using System.Text;
using System.Text.Json;
using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Invariant 1: no surface but a successful read by its own agent (or an admin read) shows a value; none shows a key.</summary>
public sealed class NoDisclosureTests
{
    private const string Canary = "sk_live_CANARY_QZX7wv2k";
    private const string TotpSeed = "JBSWY3DPEHPK3PXP";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_canary_value_never_appears_in_audit_exceptions_ToString_or_logs_on_any_path(bool clientSideEncryption)
    {
        var backend = new FaultyBackend(new InMemorySecretBackend());
        await using var host = new TestHost(backend, configure: o =>
        {
            o.MaxValueBytes = 1024;
            o.ClientSideEncryption = clientSideEncryption;
        });
        var errors = new Expect.Collector();
        var texts = new List<string>();
        var keys = new List<string>();

        var adminKey = await host.Authenticator.InitializeAsync();
        keys.Add(adminKey!);
        var created = await host.Admin.CreateAgentAsync("agent-a");
        keys.Add(created.ApiKey);
        texts.Add(created.ToString());
        texts.Add(created.Agent.ToString());
        var a = await host.Authenticator.AuthenticateAgentAsync(created.ApiKey);
        var readOnly = new AgentPolicy { Rules = [new PolicyRule { Labels = "*", Operations = ["read", "list"] }] };
        var (limited, limitedKey) = await host.AddAgentAsync("limited", readOnly);
        keys.Add(limitedKey);

        // The happy paths: stored, read, overwritten (rotated), listed, read by an admin.
        texts.Add((await a.StoreAsync("db", new SecretValue(Canary))).ToString());
        var read = await a.GetAsync("db");
        Assert.Equal(Canary, read.Value.Reveal());
        texts.Add(read.ToString());
        texts.Add(read.Value.ToString());
        texts.Add(JsonSerializer.Serialize(read));
        texts.Add((await a.StoreAsync("db", new SecretValue(Canary + "-v2"))).ToString());
        texts.Add(string.Join(";", (await a.ListAsync()).Select(i => i.ToString())));
        texts.Add((await backend.Inner.GetAsync(new EntryKey("agent-a", "db")))!.ToString());
        await foreach (var m in host.Backend.ListAllAsync())
        {
            texts.Add(m.ToString());
        }

        var adminVault = await host.Admin.OpenVaultAsync("agent-a");
        Assert.Equal(Canary + "-v2", (await adminVault.GetAsync("db")).Value.Reveal());
        texts.Add((await host.Admin.GetAgentAsync("agent-a")).ToString());
        await a.StoreAsync("otp", new SecretValue(TotpSeed), new StoreOptions { Kind = SecretKind.Totp });
        texts.Add((await a.GetTotpAsync("otp")).ToString());

        // Every error path, each carrying the canary.
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("../db", new SecretValue(Canary)));
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("db\u200d", new SecretValue(Canary)));
        await errors.FailsAsync(ErrorKind.AccessDenied, () => limited.StoreAsync("db", new SecretValue(Canary)));
        await errors.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("missing"));
        await errors.FailsAsync(ErrorKind.NotFound, () => a.DeleteAsync("missing"));
        await errors.FailsAsync(ErrorKind.NotFound, () => limited.GetAsync("db"));
        await errors.FailsAsync(ErrorKind.ValueTooLarge, () => a.StoreAsync("big", new SecretValue(Canary + new string('x', 2000))));
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("otp2", new SecretValue(Canary), new StoreOptions { Kind = SecretKind.Totp }));
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("otp2", new SecretValue("otpauth://totp/x?secret=" + Canary), new StoreOptions { Kind = SecretKind.Totp }));
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("old", new SecretValue(Canary), new StoreOptions { ExpiresAt = host.Time.GetUtcNow().AddSeconds(-1) }));
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("kind", new SecretValue(Canary), new StoreOptions { Kind = (SecretKind)42 }));
        await errors.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("otp"));
        await errors.FailsAsync(ErrorKind.InvalidInput, () => a.GetTotpAsync("db"));

        // The audit sink fails: the store is refused, and so is the read.
        host.Sink.FailWith = new IOException("audit disk full");
        await errors.FailsAsync(ErrorKind.BackendUnavailable, () => a.StoreAsync("db", new SecretValue(Canary + "-v3")));
        await errors.FailsAsync(ErrorKind.BackendUnavailable, () => a.GetAsync("db"));
        await errors.FailsAsync(ErrorKind.BackendUnavailable, () => a.DeleteAsync("db"));
        host.Sink.FailWith = null;

        // The backend fails.
        backend.Where = k => !k.IsRegistry;
        backend.FailNthPut(1);
        await errors.FailsAsync(ErrorKind.BackendUnavailable, () => a.StoreAsync("db", new SecretValue(Canary + "-v4")));
        backend.FailNthGet(1);
        await errors.FailsAsync(ErrorKind.BackendUnavailable, () => a.GetAsync("db"));
        backend.FailNthGet(1, () => new InvalidOperationException("raw provider failure"));
        try
        {
            await a.GetAsync("db");
        }
        catch (InvalidOperationException e)
        {
            texts.Add(e.ToString());
        }

        backend.Heal();

        // A stored value moved to another label (or agent) must not decrypt to the value.
        if (clientSideEncryption)
        {
            var raw = (await backend.Inner.GetAsync(new EntryKey("agent-a", "db")))!;
            await backend.Inner.PutAsync(raw with { Metadata = raw.Metadata with { Key = new EntryKey("agent-a", "moved") } });
            await errors.FailsAsync(ErrorKind.BackendPermission, () => a.GetAsync("moved"));
        }

        // Wrong keys, and each kind of key used where the other belongs.
        await errors.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(created.ApiKey[..^2] + "zz"));
        await errors.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync("Bearer " + created.ApiKey));
        await errors.FailsAsync(ErrorKind.AccessDenied, () => host.Authenticator.AuthenticateAgentAsync(adminKey));
        await errors.FailsAsync(ErrorKind.AccessDenied, () => host.Authenticator.AuthenticateAdminAsync(created.ApiKey));
        await errors.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAdminAsync(adminKey![..^2] + "zz"));

        // Rotation, deletion, revocation.
        var rotated = await host.Admin.RotateKeyAsync("agent-a", TimeSpan.Zero);
        keys.Add(rotated);
        await errors.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(created.ApiKey));
        await errors.FailsAsync(ErrorKind.Unauthenticated, () => a.GetAsync("db"));
        a = await host.Authenticator.AuthenticateAgentAsync(rotated);
        await a.DeleteAsync("db");
        await a.StoreAsync("db", new SecretValue(Canary));
        for (var i = 0; i < 5; i++)
        {
            await a.StoreAsync("copy-" + i, new SecretValue(Canary));
        }

        backend.ThrowAfterDeletes(2);
        await errors.FailsAsync(ErrorKind.BackendUnavailable, () => host.Admin.RevokeAsync("agent-a"));
        backend.Heal();
        await errors.FailsAsync(ErrorKind.AgentRevoked, () => a.StoreAsync("db", new SecretValue(Canary)));
        await errors.FailsAsync(ErrorKind.AgentRevoked, () => a.GetAsync("db"));
        await errors.FailsAsync(ErrorKind.AgentRevoked, () => host.Authenticator.AuthenticateAgentAsync(rotated));
        texts.Add((await host.Admin.SweepAsync()).ToString());
        await errors.FailsAsync(ErrorKind.Conflict, () => host.Admin.RevokeAsync("agent-a"));
        await errors.FailsAsync(ErrorKind.NotFound, () => host.Admin.RevokeAsync("nobody"));

        var needles = Needles(Canary).Concat(Needles(TotpSeed)).Concat(keys.SelectMany(KeyNeedles)).ToList();
        Assert.NotEmpty(host.Sink.Events);
        foreach (var e in host.Sink.Events)
        {
            AssertFree("audit event", JsonSerializer.Serialize(e), needles);
        }

        Assert.NotEmpty(errors.All);
        foreach (var e in errors.All)
        {
            AssertFree("exception", e.ToString(), needles);
        }

        foreach (var text in texts)
        {
            AssertFree("ToString", text, needles);
        }

        // The audit sink failures were logged; nothing logged may carry a value or a key.
        Assert.NotEmpty(host.Logs.Entries);
        foreach (var entry in host.Logs.Entries)
        {
            AssertFree("log entry", entry, needles);
        }
    }

    [Fact]
    public void A_secret_value_never_shows_itself()
    {
        var value = new SecretValue(Canary);

        Assert.Equal("***", value.ToString());
        Assert.Equal("***", $"{value}");
        Assert.DoesNotContain("QZX7", JsonSerializer.Serialize(value));
        Assert.Equal(Canary, value.Reveal());
        Assert.Equal(Encoding.UTF8.GetByteCount(Canary), value.ByteCount);
    }

    [Fact]
    public void Secret_records_print_their_metadata_but_never_the_value()
    {
        var now = DateTimeOffset.UnixEpoch;
        var entry = new SecretEntry("db", new SecretValue(Canary), SecretKind.Generic, 3, now, now, null);
        var backendEntry = new BackendEntry(new EntryMetadata(new EntryKey("a", "db"), SecretKind.Generic, 3, now, now, null, false), Encoding.UTF8.GetBytes(Canary));
        var created = new CreatedAgent(new AgentInfo("a", null, AgentStatus.Active, now, null, AgentPolicy.FullControl(), []), "ask_a_0123456789ab_" + Canary);

        Assert.Contains("db", entry.ToString());
        Assert.DoesNotContain("QZX7", entry.ToString());
        Assert.Contains("a/db", backendEntry.ToString());
        Assert.DoesNotContain("QZX7", backendEntry.ToString());
        Assert.Contains("a", created.ToString());
        Assert.DoesNotContain("QZX7", created.ToString());
        Assert.DoesNotContain("ask_", created.ToString());
    }

    [Fact]
    public async Task Values_written_are_fingerprinted_in_the_audit_trail_equal_for_equal_values_and_never_in_clear()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");

        await a.StoreAsync("one", new SecretValue(Canary));
        await a.StoreAsync("two", new SecretValue(Canary));
        await a.StoreAsync("three", new SecretValue("something else"));

        var writes = host.Sink.Events.Where(e => e.Action == "write").ToList();
        Assert.Equal(3, writes.Count);
        Assert.All(writes, w => Assert.Matches("^[0-9a-f]{64}$", w.Fingerprint!));
        Assert.Equal(writes[0].Fingerprint, writes[1].Fingerprint);
        Assert.NotEqual(writes[0].Fingerprint, writes[2].Fingerprint);
        Assert.All(writes, w => Assert.Equal("agent:a", w.Actor));
    }

    [Fact]
    public async Task The_same_value_has_different_fingerprints_under_different_master_keys()
    {
        await using var one = new TestHost();
        await using var two = new TestHost();
        var (a1, _) = await one.AddAgentAsync("a");
        var (a2, _) = await two.AddAgentAsync("a");

        await a1.StoreAsync("x", new SecretValue(Canary));
        await a2.StoreAsync("x", new SecretValue(Canary));

        Assert.NotEqual(one.Sink.Events.Single(e => e.Action == "write").Fingerprint, two.Sink.Events.Single(e => e.Action == "write").Fingerprint);
    }

    [Fact]
    public async Task Failed_authentications_are_audited_without_the_key()
    {
        await using var host = new TestHost();
        var (_, key) = await host.AddAgentAsync("a");
        var wrong = key[..^4] + "AAAA";

        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(wrong));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync("garbage-" + key));

        var failures = host.Sink.Events.Where(e => e.Action == "authenticate").ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal("denied", f.Outcome));
        Assert.Equal("a", failures[0].AgentId);
        foreach (var f in failures)
        {
            AssertFree("audit event", JsonSerializer.Serialize(f), KeyNeedles(key).Concat(KeyNeedles(wrong)).ToList());
        }
    }

    private static IEnumerable<string> Needles(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        yield return secret;
        yield return Convert.ToBase64String(bytes);
        yield return Convert.ToHexStringLower(bytes);
        yield return Convert.ToHexString(bytes);
    }

    private static IEnumerable<string> KeyNeedles(string key)
    {
        yield return key;
        yield return key[(key.LastIndexOf('_') + 1)..]; // the secret part alone
    }

    private static void AssertFree(string where, string text, IReadOnlyList<string> needles)
    {
        foreach (var needle in needles)
        {
            Assert.False(text.Contains(needle, StringComparison.Ordinal), $"a {where} discloses a secret: {text}");
        }

        Assert.DoesNotContain("QZX7wv2k", text);
    }
}
