using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AgentScope.Backends;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

/// <summary>
/// The envelope reader: everything the writer produces reads back exactly, and anything that is not an envelope for this
/// coordinate (edited, truncated, copied, mistyped) reads as null — never as a wrong value.
/// </summary>
public sealed class SecretLayoutEnvelopeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
    private static readonly EntryKey Key = new("alpha", "stripe-key");

    private static BackendEntry Entry(byte[] value, bool encrypted = false, SecretKind kind = SecretKind.Generic, DateTimeOffset? expires = null, long version = 7) =>
        new(new EntryMetadata(Key, kind, version, T0, T0.AddMinutes(1), expires, encrypted), value);

    private static void AssertRoundTrips(BackendEntry entry)
    {
        var read = SecretLayout.ReadEnvelope(Key, SecretLayout.Envelope(entry)!);
        Assert.NotNull(read);
        Assert.Equal(entry.Metadata, read.Metadata);
        Assert.Equal(entry.Value, read.Value);
    }

    public static TheoryData<string> Values() => new()
    {
        "sk_live_0123456789abcdef",
        string.Empty,
        "with \"quotes\", a back\\slash, a tab\t and a\nnewline",
        "non-ASCII: é ü 中文 🔑",
        "<script>&amp;</script> '+' \u2028",
        new string('x', 5000),
        new string('"', 3000),
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Text_values_read_back_exactly(string value) => AssertRoundTrips(Entry(Encoding.UTF8.GetBytes(value)));

    [Fact]
    public void Ciphertext_large_values_and_every_metadata_field_read_back_exactly()
    {
        AssertRoundTrips(Entry(RandomNumberGenerator.GetBytes(48), encrypted: true));
        AssertRoundTrips(Entry(RandomNumberGenerator.GetBytes(SecretLayout.MaxValueBytes), encrypted: true));
        AssertRoundTrips(Entry([0xff, 0xfe, 0x00, 0x41])); // not UTF-8: stored as base64
        AssertRoundTrips(Entry("v"u8.ToArray(), kind: SecretKind.Totp, expires: T0.AddDays(3), version: long.MaxValue));
        AssertRoundTrips(Entry("v"u8.ToArray(), kind: SecretKind.Registry, version: long.MinValue));
    }

    private static JsonObject Valid() => JsonNode.Parse(SecretLayout.Envelope(Entry("the-value"u8.ToArray(), expires: T0.AddDays(1)))!)!.AsObject();

    private static string Without(string member)
    {
        var o = Valid();
        o.Remove(member);
        return o.ToJsonString();
    }

    private static string With(string member, JsonNode? value)
    {
        var o = Valid();
        o[member] = value;
        return o.ToJsonString();
    }

    [Fact]
    public void Members_in_any_order_with_unknown_ones_nested_or_not_are_read()
    {
        var o = Valid();
        var reordered = new JsonObject(o.Reverse().Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())))
        {
            ["extra"] = new JsonObject { ["value"] = "not-this", ["deeper"] = new JsonArray(1, new JsonObject { ["ns"] = "beta" }) },
            ["list"] = new JsonArray("a", "b"),
        };
        var read = SecretLayout.ReadEnvelope(Key, reordered.ToJsonString());
        Assert.Equal("the-value"u8.ToArray(), read!.Value);
        Assert.Equal(T0.AddDays(1), read.Metadata.ExpiresAt);
    }

    [Fact]
    public void Escaped_member_names_and_values_mean_what_they_spell()
    {
        var json = Valid().ToJsonString()
            .Replace("\"ns\"", "\"\\u006es\"", StringComparison.Ordinal)
            .Replace("\"alpha\"", "\"\\u0061lpha\"", StringComparison.Ordinal)
            .Replace("\"generic\"", "\"gener\\u0069c\"", StringComparison.Ordinal)
            .Replace("\"the-value\"", "\"the\\u002dvalue\"", StringComparison.Ordinal);
        Assert.Equal("the-value"u8.ToArray(), SecretLayout.ReadEnvelope(Key, json)!.Value);
    }

    [Fact]
    public void When_a_member_is_repeated_the_last_one_counts()
    {
        var json = Valid().ToJsonString();
        Assert.NotNull(SecretLayout.ReadEnvelope(Key, "{\"label\":\"other\"," + json[1..]));
        Assert.Null(SecretLayout.ReadEnvelope(Key, json[..^1] + ",\"label\":\"other\"}"));
        Assert.Equal("last"u8.ToArray(), SecretLayout.ReadEnvelope(Key, json[..^1] + ",\"value\":\"last\"}")!.Value);
        Assert.Null(SecretLayout.ReadEnvelope(Key, json[..^1] + ",\"expires\":\"soon\"}"));
        Assert.Null(SecretLayout.ReadEnvelope(Key, json[..^1] + ",\"expires\":null}")!.Metadata.ExpiresAt);
    }

    public static TheoryData<string> NotEnvelopes()
    {
        var valid = Valid().ToJsonString();
        var data = new TheoryData<string>
        {
            "HAND-EDITED-SECRET", "", "null", "[]", "\"text\"", "42", "{}",
            valid + " {}", valid + "x", valid[..^1], "[" + valid + "]",
            Without("agentscope"), Without("ns"), Without("label"), Without("kind"), Without("version"), Without("created"),
            Without("updated"), Without("encrypted"), Without("encoding"), Without("value"),
            With("agentscope", 2), With("agentscope", 1.5), With("agentscope", "1"), With("agentscope", 1e10),
            With("ns", "beta"), With("ns", null), With("ns", new JsonObject()), With("label", "stripe-key2"), With("label", 5),
            With("kind", "Generic"), With("kind", "other"), With("kind", new JsonArray()),
            With("version", "7"), With("version", 1.5), With("version", 1e30), With("version", null),
            With("created", "2026-01-02"), With("created", 5), With("updated", "yesterday"), With("updated", new string('9', 100)),
            With("expires", 5), With("expires", "tomorrow"), With("expires", new JsonObject()),
            With("encrypted", "false"), With("encrypted", 0), With("encrypted", null),
            With("encoding", "hex"), With("encoding", "UTF8"), With("encoding", null),
            With("value", 5), With("value", null), With("value", new JsonArray("the-value")),
        };
        var o = Valid();
        o["encoding"] = "base64";
        o["value"] = "not base64!";
        data.Add(o.ToJsonString());
        return data;
    }

    [Theory]
    [MemberData(nameof(NotEnvelopes))]
    public void Anything_else_reads_as_not_an_envelope(string secretString) => Assert.Null(SecretLayout.ReadEnvelope(Key, secretString));

    [Fact]
    public void An_envelope_for_another_coordinate_is_not_this_one()
    {
        var json = Valid().ToJsonString();
        Assert.NotNull(SecretLayout.ReadEnvelope(Key, json));
        Assert.Null(SecretLayout.ReadEnvelope(new EntryKey("alpha", "other"), json));
        Assert.Null(SecretLayout.ReadEnvelope(new EntryKey("alph", "stripe-key"), json));
        Assert.Null(SecretLayout.ReadEnvelope(new EntryKey("alpha-2", "stripe-key"), json));
    }
}
