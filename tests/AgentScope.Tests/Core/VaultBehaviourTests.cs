using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AgentScope.Testing;

namespace AgentScope.Tests;

public sealed class VaultBehaviourTests
{
    private const string Seed = "JBSWY3DPEHPK3PXP";

    // JBSWY3DPEHPK3PXP is base32 for "Hello!" followed by DE AD BE EF.
    private static readonly byte[] SeedBytes = [.. "Hello!"u8, 0xDE, 0xAD, 0xBE, 0xEF];

    [Fact]
    public async Task Creating_a_label_reports_created_and_overwriting_it_bumps_the_version()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        var t0 = host.Time.GetUtcNow();

        var first = await a.StoreAsync("db", new SecretValue("v1"));
        host.Time.Advance(TimeSpan.FromMinutes(5));
        var second = await a.StoreAsync("db", new SecretValue("v2"));
        host.Time.Advance(TimeSpan.FromMinutes(5));
        var third = await a.StoreAsync("db", new SecretValue("v3"));

        Assert.Equal(new StoreResult("db", 1, t0, Created: true), first);
        Assert.Equal(new StoreResult("db", 2, t0.AddMinutes(5), Created: false), second);
        Assert.Equal(3, third.Version);
        Assert.False(third.Created);
        var got = await a.GetAsync("db");
        Assert.Equal("v3", got.Value.Reveal());
        Assert.Equal(3, got.Version);
        Assert.Equal(SecretKind.Generic, got.Kind);
        Assert.Equal(t0, got.CreatedAt);
        Assert.Equal(t0.AddMinutes(10), got.UpdatedAt);
        Assert.Null(got.ExpiresAt);
        Assert.Equal(new SecretInfo("db", SecretKind.Generic, 3, t0, t0.AddMinutes(10), null), Assert.Single(await a.ListAsync()));
    }

    [Fact]
    public async Task A_deleted_label_is_gone_and_storing_it_again_starts_at_version_one()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("db", new SecretValue("v1"));
        await a.StoreAsync("db", new SecretValue("v2"));

        await a.DeleteAsync("db");

        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("db"));
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.DeleteAsync("db"));
        Assert.Empty(await a.ListAsync());
        var again = await a.StoreAsync("db", new SecretValue("v3"));
        Assert.True(again.Created);
        Assert.Equal(1, again.Version);
    }

    [Fact]
    public async Task Values_round_trip_exactly_including_unicode_json_and_whitespace()
    {
        await using var host = new TestHost(configure: o => o.ClientSideEncryption = true);
        var (a, _) = await host.AddAgentAsync("a");
        string[] values = ["", " ", "line1\nline2\r\n", "{\"user\":\"u\",\"password\":\"p@ss\"}", "\u00e9\u4e2d\ud83d\udd11", "\0binary\0"];

        for (var i = 0; i < values.Length; i++)
        {
            await a.StoreAsync($"v{i}", new SecretValue(values[i]));
        }

        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], (await a.GetAsync($"v{i}")).Value.Reveal());
        }
    }

    [Fact]
    public async Task Every_operation_is_audited_with_actor_action_label_and_outcome()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        host.Sink.Clear();

        await a.StoreAsync("db", new SecretValue("v"));
        await a.GetAsync("db");
        await a.ListAsync();
        await a.DeleteAsync("db");
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("db"));

        var trail = host.Sink.Events.Select(e => (e.Actor, e.Action, e.AgentId, e.Label, e.Outcome)).ToList();
        Assert.Equal(
        [
            ("agent:a", "write", "a", "db", "ok"),
            ("agent:a", "read", "a", "db", "ok"),
            ("agent:a", "list", "a", null, "ok"),
            ("agent:a", "delete", "a", "db", "ok"),
            ("agent:a", "read", "a", "db", "not_found"),
        ], trail);
        Assert.All(host.Sink.Events, e => Assert.Equal(host.Time.GetUtcNow(), e.Time));
        Assert.Equal("version=1", host.Sink.Events[0].Detail);
    }

    [Fact]
    public async Task A_TOTP_entry_never_returns_its_seed_through_read()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("github-otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });

        var e = await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("github-otp"));

        Assert.Contains("TOTP seed", e.Message);
        Assert.Equal(SecretKind.Totp, Assert.Single(await a.ListAsync()).Kind);
        Assert.Contains(host.Sink.Events, ev => ev.Action == "read" && ev.Label == "github-otp" && ev.Outcome == "denied");
    }

    [Fact]
    public async Task A_rule_with_reveal_seed_lets_read_return_the_seed()
    {
        await using var host = new TestHost();
        var policy = new AgentPolicy
        {
            Rules =
            [
                new PolicyRule { Labels = "*", Operations = ["*"] },
                new PolicyRule { Labels = "exportable-*", Operations = ["read"], RevealSeed = true },
            ],
        };
        var (a, _) = await host.AddAgentAsync("a", policy);
        await a.StoreAsync("exportable-otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });
        await a.StoreAsync("locked-otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });

        var got = await a.GetAsync("exportable-otp");

        Assert.Equal(Seed, got.Value.Reveal());
        Assert.Equal(SecretKind.Totp, got.Kind);
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("locked-otp"));
    }

    [Theory]
    [InlineData(1_767_225_617L)]
    [InlineData(59L)]
    [InlineData(1_111_111_109L)]
    [InlineData(2_000_000_000L)]
    public async Task A_TOTP_code_matches_an_independent_RFC_6238_computation(long unixSeconds)
    {
        await using var host = new TestHost(time: new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(unixSeconds)));
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });
        await a.StoreAsync("otp-uri", new SecretValue($"otpauth://totp/Example:alice?secret={Seed}&algorithm=SHA256&digits=8&period=60&issuer=Example"),
            new StoreOptions { Kind = SecretKind.Totp });

        var code = await a.GetTotpAsync("otp");
        var uriCode = await a.GetTotpAsync("otp-uri");

        Assert.Equal(Rfc6238(SeedBytes, unixSeconds, HashAlgorithmName.SHA1, 6, 30), code.Code);
        Assert.Equal(30 - (int)(unixSeconds % 30), code.Remaining);
        Assert.Equal(Rfc6238(SeedBytes, unixSeconds, HashAlgorithmName.SHA256, 8, 60), uriCode.Code);
        Assert.Equal(60 - (int)(unixSeconds % 60), uriCode.Remaining);
    }

    [Fact]
    public async Task TOTP_codes_are_the_same_with_client_side_encryption()
    {
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_767_225_617));
        await using var host = new TestHost(time: time, configure: o => o.ClientSideEncryption = true);
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });

        var code = await a.GetTotpAsync("otp");

        Assert.Equal(Rfc6238(SeedBytes, 1_767_225_617, HashAlgorithmName.SHA1, 6, 30), code.Code);
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("otp"));
    }

    [Fact]
    public async Task A_TOTP_code_changes_with_the_time_step()
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(1_767_225_600);
        await using var host = new TestHost(time: new ManualTimeProvider(start));
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });

        var first = await a.GetTotpAsync("otp");
        host.Time.Advance(TimeSpan.FromSeconds(29));
        var sameStep = await a.GetTotpAsync("otp");
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var nextStep = await a.GetTotpAsync("otp");

        Assert.Equal(first.Code, sameStep.Code);
        Assert.Equal(1, sameStep.Remaining);
        Assert.Equal(Rfc6238(SeedBytes, start.ToUnixTimeSeconds() + 30, HashAlgorithmName.SHA1, 6, 30), nextStep.Code);
        Assert.Equal(30, nextStep.Remaining);
    }

    [Fact]
    public async Task Asking_a_generic_entry_for_a_TOTP_code_is_invalid_input()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("db", new SecretValue(Seed));

        var e = await Expect.FailsAsync(ErrorKind.InvalidInput, () => a.GetTotpAsync("db"));

        Assert.Contains("not a TOTP entry", e.Message);
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetTotpAsync("missing"));
    }

    [Fact]
    public async Task A_label_with_an_expiry_reads_as_not_found_from_that_instant()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        var expiry = host.Time.GetUtcNow().AddHours(1);
        await a.StoreAsync("temp", new SecretValue("v"), new StoreOptions { ExpiresAt = expiry });
        await a.StoreAsync("otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp, ExpiresAt = expiry });

        host.Time.Advance(TimeSpan.FromMinutes(59));
        var got = await a.GetAsync("temp");
        Assert.Equal(expiry, got.ExpiresAt);
        await a.GetTotpAsync("otp");

        host.Time.Advance(TimeSpan.FromMinutes(1));
        var e = await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("temp"));
        Assert.Contains("expired", e.Message);
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetTotpAsync("otp"));

        await a.StoreAsync("temp", new SecretValue("fresh"));
        Assert.Equal("fresh", (await a.GetAsync("temp")).Value.Reveal());
        Assert.Null((await a.GetAsync("temp")).ExpiresAt);
        await a.DeleteAsync("otp");
    }

    [Fact]
    public async Task The_admin_vault_ignores_label_policy_but_still_hides_TOTP_seeds()
    {
        await using var host = new TestHost();
        var policy = new AgentPolicy
        {
            Rules = [new PolicyRule { Labels = "public-*", Operations = ["*"], RevealSeed = true }],
        };
        var (a, _) = await host.AddAgentAsync("a", policy);
        await a.StoreAsync("public-otp", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });
        var admin = await host.Admin.OpenVaultAsync("a");

        await admin.StoreAsync("private-db", new SecretValue("admin-set"));
        var read = await admin.GetAsync("private-db");
        var listed = await admin.ListAsync();
        var code = await admin.GetTotpAsync("public-otp");

        Assert.Equal("admin-set", read.Value.Reveal());
        Assert.Equal(["private-db", "public-otp"], listed.Select(i => i.Label));
        Assert.Equal(Rfc6238(SeedBytes, host.Time.GetUtcNow().ToUnixTimeSeconds(), HashAlgorithmName.SHA1, 6, 30), code.Code);
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => admin.GetAsync("public-otp"));
        Assert.Equal(Seed, (await a.GetAsync("public-otp")).Value.Reveal());
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("private-db"));
        Assert.Equal(["public-otp"], (await a.ListAsync()).Select(i => i.Label));
        Assert.Equal("a", admin.AgentId);
        Assert.Contains(host.Sink.Events, e => e.Actor == "admin:local" && e.Action == "write" && e.AgentId == "a" && e.Label == "private-db");

        await admin.DeleteAsync("private-db");
        await Expect.FailsAsync(ErrorKind.NotFound, () => admin.GetAsync("private-db"));
    }

    [Fact]
    public async Task An_admin_vault_opened_before_a_revoke_stops_working()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("db", new SecretValue("v"));
        var admin = await host.Admin.OpenVaultAsync("a");

        await host.Admin.RevokeAsync("a");

        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => admin.GetAsync("db"));
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => admin.StoreAsync("db", new SecretValue("v")));
    }

    private static string Rfc6238(byte[] key, long unixSeconds, HashAlgorithmName algorithm, int digits, int period)
    {
        var counter = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, unixSeconds / period);
        using HMAC hmac = algorithm == HashAlgorithmName.SHA256 ? new HMACSHA256(key) : new HMACSHA1(key);
        var hash = hmac.ComputeHash(counter);
        var offset = hash[^1] & 0x0F;
        var binary = ((hash[offset] & 0x7F) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        var modulo = (int)Math.Pow(10, digits);
        return (binary % modulo).ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0');
    }

    [Fact]
    public void The_independent_TOTP_computation_agrees_with_RFC_6238_appendix_B()
    {
        var key = Encoding.ASCII.GetBytes("12345678901234567890");

        Assert.Equal("94287082", Rfc6238(key, 59, HashAlgorithmName.SHA1, 8, 30));
        Assert.Equal("07081804", Rfc6238(key, 1111111109, HashAlgorithmName.SHA1, 8, 30));
        Assert.Equal("46119246", Rfc6238(Encoding.ASCII.GetBytes("12345678901234567890123456789012"), 59, HashAlgorithmName.SHA256, 8, 30));
    }
}
