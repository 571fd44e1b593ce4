using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AgentScope.Injection;
using AgentScope.Testing;

namespace AgentScope.Tests.Injection;

public sealed class SecretScrubberTests
{
    private const string Secret = "sk_live 9+/=\"q'<&>\\ab%41~ü€😀";

    private static SecretScrubber For(params (string Label, string Value)[] secrets) =>
        new(secrets.Select(s => KeyValuePair.Create(s.Label, s.Value)));

    public static TheoryData<string, string> Encodings()
    {
        var bytes = Encoding.UTF8.GetBytes(Secret);
        return new TheoryData<string, string>
        {
            { "raw", Secret },
            { "JSON (System.Text.Json default)", JsonEncodedText.Encode(Secret).ToString() },
            { "JSON (relaxed)", JsonEncodedText.Encode(Secret, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString() },
            { "JSON (ASCII only, lowercase hex, escaped slash)", JsonSerializer.Serialize(Secret)[1..^1].Replace("\\u002B", "+", StringComparison.Ordinal).ToLowerInvariant().Replace("/", "\\/", StringComparison.Ordinal) },
            { "percent %20", Uri.EscapeDataString(Secret) },
            { "percent lowercase hex", Uri.EscapeDataString(Secret).ToLowerInvariant() },
            { "form +", WebUtility.UrlEncode(Secret) },
            { "percent, every byte", string.Concat(bytes.Select(b => $"%{b:X2}")) },
            { "base64", Convert.ToBase64String(bytes) },
            { "base64 unpadded", Convert.ToBase64String(bytes).TrimEnd('=') },
            { "base64url", Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_') },
            { "hex", Convert.ToHexString(bytes) },
            { "hex lowercase", Convert.ToHexStringLower(bytes) },
            { "base64 of the JSON-escaped form", Convert.ToBase64String(Encoding.UTF8.GetBytes(InjectionEncodings.Json(Secret))) },
            { "base64 of the form-encoded form", Convert.ToBase64String(Encoding.UTF8.GetBytes(WebUtility.UrlEncode(Secret))) },
        };
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Every_common_encoding_of_the_value_is_replaced_by_a_marker(string encoding, string encoded)
    {
        var scrubbed = For(("stripe", Secret)).Scrub($"before {encoded} after");
        Assert.Equal("before [redacted:stripe] after", scrubbed);
        Assert.True(SecretTraces.Find(scrubbed, Secret).Count == 0, encoding);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void The_value_is_removed_from_the_base64_of_a_longer_text_at_every_alignment(int prefixLength)
    {
        var text = new string('p', prefixLength) + "Authorization: Bearer " + Secret + "\r\nX-Other: 1";
        foreach (var encoded in new[] { Convert.ToBase64String(Encoding.UTF8.GetBytes(text)), Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).Replace('+', '-').Replace('/', '_') })
        {
            var scrubbed = For(("stripe", Secret)).Scrub(encoded);
            Assert.Contains("[redacted:stripe]", scrubbed, StringComparison.Ordinal);
            Assert.Empty(SecretTraces.Find(scrubbed, Secret));
        }
    }

    [Fact]
    public void Text_without_the_value_is_returned_unchanged()
    {
        const string text = "{\"id\":\"re_123\",\"amount\":500}";
        Assert.Same(text, For(("stripe", "sk_live_abcdef123456")).Scrub(text));
    }

    [Fact]
    public void Several_values_are_each_replaced_by_their_own_label()
    {
        var scrubbed = For(("a", "alpha-secret-1"), ("b", "beta-secret-22")).Scrub("x alpha-secret-1 y YmV0YS1zZWNyZXQtMjI= z");
        Assert.Equal("x [redacted:a] y [redacted:b] z", scrubbed);
    }

    [Fact]
    public void A_short_value_such_as_a_totp_code_is_scrubbed_too()
    {
        Assert.Equal("code [redacted:gh] ok", For(("gh", "123456")).Scrub("code 123456 ok"));
    }

    [Fact]
    public void A_value_cut_by_truncation_leaves_no_prefix_behind()
    {
        const string value = "sk_live_0123456789abcdefghij";
        var scrubber = For(("stripe", value));
        var full = "body: " + value + " and " + Uri.EscapeDataString(value + "/") + " end";
        for (var cut = 1; cut <= full.Length; cut++)
        {
            var scrubbed = scrubber.Scrub(full[..cut], truncated: true);
            Assert.True(SecretTraces.Find(scrubbed, value).Count == 0, $"cut at {cut}: {scrubbed}");
            for (var k = 4; k < value.Length; k++)
            {
                Assert.False(scrubbed.EndsWith(value[..k], StringComparison.Ordinal), $"cut at {cut} left {k} characters of the value");
            }
        }
    }

    [Fact]
    public void Truncated_text_keeps_what_precedes_the_last_possible_occurrence()
    {
        var scrubber = For(("k", "0123456789"));
        var text = new string('a', 1000);
        var scrubbed = scrubber.Scrub(text, truncated: true);
        Assert.True(scrubbed.Length >= 900, "only the tail that could hold a cut occurrence is dropped");
        Assert.StartsWith(scrubbed, text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scrubber_of_no_values_changes_nothing()
    {
        Assert.Equal("abc", For().Scrub("abc", truncated: true));
    }

    [Fact]
    public void Base64_runs_cover_each_alignment_and_both_alphabets()
    {
        var runs = SecretScrubber.Base64Runs(Encoding.UTF8.GetBytes("0123456789?>?>")).ToList();
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes("0123456789?>?>")), runs);
        Assert.Contains(runs, r => r.Contains('-', StringComparison.Ordinal) || r.Contains('_', StringComparison.Ordinal));
        foreach (var prefix in new[] { "", "x", "xy" })
        {
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(prefix + "0123456789?>?>" + "tail"));
            Assert.Contains(runs, encoded.Contains);
        }
    }
}
