using System.Text.RegularExpressions;
using AgentScope.Backends;
using FsCheck;
using FsCheck.Fluent;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>Properties of the (namespace, label) → Key Vault name mapping, the tag codec and the value codec.</summary>
public sealed class NamingPropertyTests
{
    private static readonly Regex KeyVaultName = new("^[0-9a-zA-Z-]{1,127}$", RegexOptions.CultureInvariant);
    private const string LabelChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    private const string AgentChars = "abcdefghijklmnopqrstuvwxyz0123456789-";
    private const string PrefixChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";

    // Mostly short strings over a tiny alphabet, so that near-collisions (same text, other case, one char apart) are common.
    private static Gen<string> Text(string alphabet, int min, int max, Gen<char>? first = null) =>
        from length in Gen.Frequency((4, Gen.Choose(min, Math.Min(max, min + 4))), (1, Gen.Choose(min, max)))
        from head in first ?? Gen.Elements(alphabet.ToCharArray())
        from tail in Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), length - 1)
        select head + new string(tail);

    private static readonly Gen<string> Labels = Gen.OneOf(
        Text("aAbB.-_1", 1, Names.MaxLabelLength, Gen.Elements('a', 'A', 'b', 'B', '1')),
        Text(LabelChars, 1, Names.MaxLabelLength, Gen.Elements("abcXYZ019".ToCharArray())));

    private static readonly Gen<string> Namespaces = Gen.OneOf(
        Gen.Constant(EntryKey.RegistryNamespace),
        Text("ab-1", 1, 6, Gen.Elements('a', 'b', '1')).Where(Names.IsValidAgentId),
        Text(AgentChars, 1, Names.MaxAgentIdLength, Gen.Elements("abc019".ToCharArray())).Where(Names.IsValidAgentId));

    private static readonly Gen<EntryKey> Keys = from ns in Namespaces from label in Labels select new EntryKey(ns, label);

    private static readonly Gen<string> Prefixes = Text(PrefixChars, 1, SecretNaming.MaxPrefixLength);

    [Fact]
    public void Every_generated_coordinate_is_in_the_core_grammar()
    {
        Prop.ForAll(Keys.ToArbitrary(), k => Names.IsValidLabel(k.Label) && (k.IsRegistry || Names.IsValidAgentId(k.Namespace)))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Every_name_is_a_valid_key_vault_name_for_any_valid_prefix()
    {
        Prop.ForAll(Prefixes.ToArbitrary(), Keys.ToArbitrary(), (prefix, key) =>
            {
                var name = SecretNaming.NameOf(prefix, key);
                return KeyVaultName.IsMatch(name) && SecretNaming.IsValidSecretName(name)
                    && name.StartsWith(prefix.ToLowerInvariant() + "-", StringComparison.Ordinal)
                    && name.Length == prefix.Length + 1 + SecretNaming.HashLength;
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void The_mapping_is_pinned_because_stored_entries_depend_on_it()
    {
        // Changing the mapping would orphan every entry already in a vault: this vector (also in the docs) must not move.
        Assert.Equal("agentscope-smwzllek35wl4tejgg76rsafn3ob4rf62a27ejzzh5kcg32hcqkq",
            SecretNaming.NameOf("agentscope", new EntryKey("support-bot", "stripe-refund")));
    }

    [Fact]
    public void The_longest_prefix_with_the_longest_coordinate_still_fits_127_characters()
    {
        var name = SecretNaming.NameOf(new string('p', SecretNaming.MaxPrefixLength), new EntryKey(new string('a', Names.MaxAgentIdLength), new string('L', Names.MaxLabelLength)));
        Assert.Equal(127, name.Length);
        Assert.Matches(KeyVaultName, name);
        Assert.False(SecretNaming.IsValidPrefix(new string('p', SecretNaming.MaxPrefixLength + 1)));
    }

    [Fact]
    public void Distinct_coordinates_never_share_a_name_even_compared_case_insensitively()
    {
        Prop.ForAll(Gen.Choose(2, 60).SelectMany(n => Gen.ArrayOf(Keys, n)).ToArbitrary(), (EntryKey[] keys) =>
            {
                var distinct = keys.Distinct().ToList();
                var names = distinct.Select(k => SecretNaming.NameOf("agentscope", k)).ToHashSet(StringComparer.OrdinalIgnoreCase);
                return names.Count == distinct.Count;
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Labels_differing_only_by_case_map_to_distinct_names()
    {
        var withLetter = from label in Labels.Where(l => l.Any(char.IsAsciiLetter))
                         from pick in Gen.Choose(0, 1000)
                         select (label, pick);
        Prop.ForAll(Namespaces.ToArbitrary(), withLetter.ToArbitrary(), (ns, t) =>
            {
                var letters = t.label.Select((c, i) => (c, i)).Where(x => char.IsAsciiLetter(x.c)).ToList();
                var at = letters[t.pick % letters.Count].i;
                var chars = t.label.ToCharArray();
                chars[at] = char.IsAsciiLetterUpper(chars[at]) ? char.ToLowerInvariant(chars[at]) : char.ToUpperInvariant(chars[at]);
                var other = new string(chars);
                var a = SecretNaming.NameOf("agentscope", new EntryKey(ns, t.label));
                var b = SecretNaming.NameOf("agentscope", new EntryKey(ns, other));
                return other != t.label && !string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void The_namespace_label_boundary_is_unambiguous()
    {
        // "a" + "b-c" and "a-b" + "c" concatenate alike; the NUL separator keeps them apart.
        Prop.ForAll(Keys.ToArbitrary(), key =>
            {
                var name = SecretNaming.NameOf("x", key);
                var moved = key.Label.Length > 1 && Names.IsValidAgentId(key.Namespace + key.Label[0])
                    ? new EntryKey(key.Namespace + key.Label[0], key.Label[1..])
                    : key;
                return moved == key || SecretNaming.NameOf("x", moved) != name;
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void The_mapping_is_deterministic_and_ignores_the_prefix_case()
    {
        Prop.ForAll(Keys.ToArbitrary(), key =>
                SecretNaming.NameOf("AgentScope", key) == SecretNaming.NameOf("agentscope", key)
                && SecretNaming.NameOf("agentscope", key) == SecretNaming.NameOf("agentscope", new EntryKey(new string(key.Namespace), new string(key.Label))))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Tags_round_trip_every_metadata_within_key_vault_tag_limits()
    {
        var instants = from ticks in Gen.Choose(0, int.MaxValue)
                       from offsetMinutes in Gen.Elements(0, 60, -300, 330)
                       select new DateTimeOffset(new DateTime(2020, 1, 1).AddTicks(ticks * 7919L), TimeSpan.FromMinutes(offsetMinutes));
        var metadata = from key in Keys
                       from kind in Gen.Elements(Enum.GetValues<SecretKind>())
                       from version in Gen.Choose(1, int.MaxValue)
                       from created in instants
                       from updated in instants
                       from hasExpiry in Gen.Elements(true, false)
                       from expires in instants
                       from encrypted in Gen.Elements(true, false)
                       select new EntryMetadata(key, kind, version, created, updated, hasExpiry ? expires : null, encrypted);
        Prop.ForAll(metadata.ToArbitrary(), m =>
            {
                var tags = EntryTags.From(m);
                return tags.Count <= 15
                    && tags.All(t => t.Key.Length <= 512 && t.Value.Length <= 256)
                    && EntryTags.TryParse(tags, out var back)
                    && back == m
                    && back.CreatedAt.Offset == m.CreatedAt.Offset;
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Values_round_trip_and_a_value_of_the_declared_size_fits_after_encoding()
    {
        var values = from length in Gen.Frequency((3, Gen.Choose(0, 64)), (1, Gen.Constant(ValueCodec.MaxValueBytes)), (1, Gen.Choose(0, ValueCodec.MaxValueBytes)))
                     from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i), length)
                     from encrypted in Gen.Elements(true, false)
                     select (bytes, encrypted);
        Prop.ForAll(values.ToArbitrary(), v =>
            {
                var (text, contentType) = ValueCodec.Encode(v.bytes, v.encrypted);
                return text.Length <= ValueCodec.ServiceMaxValueChars
                    && ValueCodec.Decode(text, contentType).AsSpan().SequenceEqual(v.bytes)
                    && (!v.encrypted || contentType == ValueCodec.Base64ContentType);
            })
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Text_values_are_stored_as_text_with_no_more_characters_than_bytes()
    {
        Prop.ForAll(Gen.ArrayOf(Gen.Elements("aé€🔑\n\"x".EnumerateRunes().Select(r => r.ToString()).ToArray())).Select(string.Concat).ToArbitrary(), s =>
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(s);
                var (text, contentType) = ValueCodec.Encode(bytes, encrypted: false);
                return text == s && contentType == ValueCodec.TextContentType && text.Length <= bytes.Length;
            })
            .QuickCheckThrowOnFailure();
    }
}
