using System.Text.RegularExpressions;
using AgentScope.Agents;

namespace AgentScope.Tests;

public sealed partial class ApiKeysTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [GeneratedRegex("^ask_support-bot_[0-9a-f]{12}_[A-Za-z0-9-]{43}$")]
    private static partial Regex AgentKeyFormat();

    [GeneratedRegex("^asa_[0-9a-f]{12}_[A-Za-z0-9-]{43}$")]
    private static partial Regex AdminKeyFormat();

    private static ApiKeys.Parsed Parse(string token)
    {
        Assert.True(ApiKeys.TryParse(token, out var parsed));
        return parsed;
    }

    [Fact]
    public void Agent_keys_have_one_recognisable_format_that_embeds_the_agent_and_key_id()
    {
        for (var i = 0; i < 200; i++)
        {
            var (token, record) = ApiKeys.NewAgentKey("support-bot", Now);

            Assert.Matches(AgentKeyFormat(), token);
            Assert.True(ApiKeys.TryParse(token, out var parsed));
            Assert.False(parsed.IsAdmin);
            Assert.Equal("support-bot", parsed.AgentId);
            Assert.Equal(record.KeyId, parsed.KeyId);
            Assert.Equal(Now, record.CreatedAt);
            Assert.Null(record.ExpiresAt);
        }
    }

    [Fact]
    public void Admin_keys_have_their_own_prefix_and_no_agent()
    {
        var (token, record) = ApiKeys.NewAdminKey(Now);

        Assert.Matches(AdminKeyFormat(), token);
        Assert.True(ApiKeys.TryParse(token, out var parsed));
        Assert.True(parsed.IsAdmin);
        Assert.Null(parsed.AgentId);
        Assert.Equal(record.KeyId, parsed.KeyId);
    }

    [Fact]
    public void The_record_keeps_only_a_hash_never_the_key_or_its_secret()
    {
        var (token, record) = ApiKeys.NewAgentKey("a", Now);
        var parsed = Parse(token);

        Assert.DoesNotContain(parsed.Secret, record.Hash);
        Assert.DoesNotContain(parsed.Secret, record.ToString());
        Assert.Equal(ApiKeys.Hash(parsed.Secret), record.Hash);
    }

    [Fact]
    public void A_fresh_key_verifies_against_its_record()
    {
        var (token, record) = ApiKeys.NewAgentKey("a", Now);
        var parsed = Parse(token);

        Assert.True(ApiKeys.Verify(parsed, [record], Now));
    }

    [Fact]
    public void Keys_are_unique()
    {
        var tokens = Enumerable.Range(0, 500).Select(_ => ApiKeys.NewAgentKey("a", Now).Token).ToHashSet();

        Assert.Equal(500, tokens.Count);
    }

    [Fact]
    public void A_tampered_secret_does_not_verify()
    {
        var (token, record) = ApiKeys.NewAgentKey("a", Now);
        for (var i = token.Length - 43; i < token.Length; i++)
        {
            var chars = token.ToCharArray();
            chars[i] = chars[i] == 'A' ? 'B' : 'A';
            var tampered = new string(chars);

            Assert.True(ApiKeys.TryParse(tampered, out var parsed));
            Assert.False(ApiKeys.Verify(parsed, [record], Now), $"position {i}");
        }
    }

    [Fact]
    public void A_key_with_another_key_id_or_agent_does_not_verify()
    {
        var (token, record) = ApiKeys.NewAgentKey("a", Now);
        var (other, otherRecord) = ApiKeys.NewAgentKey("a", Now);
        var parsed = Parse(token);
        var otherParsed = Parse(other);

        Assert.False(ApiKeys.Verify(parsed, [otherRecord], Now));
        Assert.False(ApiKeys.Verify(parsed with { KeyId = otherParsed.KeyId }, [record, otherRecord], Now));
        Assert.False(ApiKeys.Verify(parsed, [], Now));
    }

    [Fact]
    public void An_expired_key_does_not_verify_from_its_expiry_on()
    {
        var (token, record) = ApiKeys.NewAgentKey("a", Now);
        var parsed = Parse(token);
        var expiring = record with { ExpiresAt = Now.AddHours(1) };

        Assert.True(ApiKeys.Verify(parsed, [expiring], Now.AddMinutes(59)));
        Assert.False(ApiKeys.Verify(parsed, [expiring], Now.AddHours(1)));
    }

    [Fact]
    public void A_record_with_a_corrupt_hash_never_verifies()
    {
        var (token, record) = ApiKeys.NewAgentKey("a", Now);
        var parsed = Parse(token);

        Assert.False(ApiKeys.Verify(parsed, [record with { Hash = "not base64!" }], Now));
        Assert.False(ApiKeys.Verify(parsed, [record with { Hash = Convert.ToBase64String(new byte[16]) }], Now));
        Assert.False(ApiKeys.Verify(parsed, [record with { Hash = "" }], Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ask_")]
    [InlineData("ask_a")]
    [InlineData("ask_a_0123456789ab")]
    [InlineData("ask_a_0123456789ab_")]
    [InlineData("ask_A_0123456789ab_secret")]
    [InlineData("ask_-a_0123456789ab_secret")]
    [InlineData("ask_a_0123456789AB_secret")]
    [InlineData("ask_a_0123456789a_secret")]
    [InlineData("ask_a_0123456789abc_secret")]
    [InlineData("asa_0123456789ab")]
    [InlineData("asa_0123456789ab_")]
    [InlineData("asa_xyz_secret")]
    [InlineData("ASK_a_0123456789ab_secret")]
    [InlineData("Bearer ask_a_0123456789ab_secret")]
    [InlineData("sk_live_0123456789")]
    public void Malformed_keys_do_not_parse(string? token)
    {
        Assert.False(ApiKeys.TryParse(token, out _));
    }

    [Fact]
    public void Keys_longer_than_256_characters_do_not_parse()
    {
        Assert.False(ApiKeys.TryParse("ask_a_0123456789ab_" + new string('x', 300), out _));
    }

    [Fact]
    public void Underscores_in_the_secret_part_stay_in_the_secret()
    {
        Assert.True(ApiKeys.TryParse("ask_a_0123456789ab_se_cr_et", out var parsed));

        Assert.Equal("a", parsed.AgentId);
        Assert.Equal("0123456789ab", parsed.KeyId);
        Assert.Equal("se_cr_et", parsed.Secret);
    }
}
