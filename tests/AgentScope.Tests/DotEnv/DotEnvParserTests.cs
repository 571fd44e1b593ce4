using AgentScope.DotEnv;

namespace AgentScope.Tests.DotEnv;

/// <summary>The dotenv rules one by one, readable on their own (the reference corpus checks them against the npm package).</summary>
public sealed class DotEnvParserTests
{
    private static Dictionary<string, string> Parse(string text) =>
        DotEnvParser.Parse(text).ToDictionary(e => e.Key, e => e.Value.Reveal(), StringComparer.Ordinal);

    private static string Value(string text, string key) => Parse(text)[key];

    [Fact]
    public void Comments_and_blank_lines_are_skipped()
    {
        var env = Parse("# comment\n\n   # indented comment\nA=1\n\n\nB=2\n");
        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "2" }, env);
    }

    [Theory]
    [InlineData("export A=1")]
    [InlineData("export   A=1")]
    [InlineData("  export\tA=1")]
    [InlineData("A = 1")]
    [InlineData("A: 1")]
    [InlineData("   A=   1   ")]
    public void The_export_prefix_colon_form_and_surrounding_whitespace_are_accepted(string line) => Assert.Equal("1", Value(line, "A"));

    [Fact]
    public void Export_glued_to_the_name_is_part_of_the_name() => Assert.Equal("1", Value("exportA=1", "exportA"));

    [Fact]
    public void A_colon_without_whitespace_after_it_is_not_a_separator() => Assert.Empty(Parse("A:1"));

    [Theory]
    [InlineData("A=plain value", "plain value")]
    [InlineData("A=inner   spaces  kept  ", "inner   spaces  kept")]
    [InlineData("A=value # comment", "value")]
    [InlineData("A=value#glued", "value")]
    [InlineData("A=#", "")]
    [InlineData("A=", "")]
    [InlineData("A=a=b==", "a=b==")]
    [InlineData("A=$HOME ${X}", "$HOME ${X}")]
    [InlineData(@"A=no\nexpansion", @"no\nexpansion")]
    public void Unquoted_values_end_at_an_inline_comment_and_are_trimmed(string line, string expected) => Assert.Equal(expected, Value(line, "A"));

    [Theory]
    [InlineData("A='  single # kept  '", "  single # kept  ")]
    [InlineData("A=\"  double # kept  \"", "  double # kept  ")]
    [InlineData("A=`  backtick # kept  `", "  backtick # kept  ")]
    [InlineData("A='value' # comment", "value")]
    [InlineData("A=\"value\" # comment", "value")]
    [InlineData("A=`value` # comment", "value")]
    [InlineData("A='with \"double\" inside'", "with \"double\" inside")]
    [InlineData("A=\"with 'single' inside\"", "with 'single' inside")]
    [InlineData("A=`with 'both' \"kinds\"`", "with 'both' \"kinds\"")]
    [InlineData("A=''", "")]
    [InlineData("A=\"\"", "")]
    public void Quotes_keep_hashes_and_whitespace_and_are_removed(string line, string expected) => Assert.Equal(expected, Value(line, "A"));

    [Theory]
    [InlineData("A=\"a\\nb\"", "a\nb")]
    [InlineData("A=\"a\\rb\"", "a\rb")]
    [InlineData("A='a\\nb'", "a\\nb")]
    [InlineData("A=`a\\nb`", "a\\nb")]
    [InlineData("A=\"a\\tb\"", "a\\tb")]
    [InlineData("A=\"say \\\"hi\\\"\"", "say \\\"hi\\\"")]
    public void Only_double_quotes_expand_backslash_n_and_r_and_no_other_escape(string line, string expected) => Assert.Equal(expected, Value(line, "A"));

    [Theory]
    [InlineData("A=\"one\ntwo\nthree\"\nB=b")]
    [InlineData("A='one\ntwo\nthree'\nB=b")]
    [InlineData("A=`one\ntwo\nthree`\nB=b")]
    public void Quoted_values_of_every_kind_may_span_lines(string text)
    {
        var entries = DotEnvParser.Parse(text);
        Assert.Equal("one\ntwo\nthree", entries[0].Value.Reveal());
        Assert.Equal((1, 3), (entries[0].Line, entries[0].EndLine));
        Assert.Equal(("B", 4), (entries[1].Key, entries[1].Line));
    }

    [Fact]
    public void A_pem_block_in_double_quotes_keeps_its_line_breaks()
    {
        const string pem = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----";
        Assert.Equal(pem, Value("KEY=\"" + pem + "\"\n", "KEY"));
        Assert.Equal(pem + "\n", Value("KEY=\"" + pem.Replace("\n", "\\n", StringComparison.Ordinal) + "\\n\"", "KEY"));
    }

    [Fact]
    public void An_unclosed_quote_is_kept_as_written_when_nothing_closes_it()
    {
        Assert.Equal("'unclosed", Value("A='unclosed\nB=b", "A"));
        Assert.Equal("b", Value("A='unclosed\nB=b", "B"));
    }

    [Fact]
    public void Later_duplicates_win_and_keep_the_position_of_the_first()
    {
        var entries = DotEnvParser.Parse("A=1\nB=2\nA=3\nexport A=4\n");
        Assert.Equal(["A", "B"], entries.Select(e => e.Key));
        Assert.Equal("4", entries[0].Value.Reveal());
        Assert.Equal(4, entries[0].Line);
        Assert.Equal(4, DotEnvParser.ParseDefinitions("A=1\nB=2\nA=3\nexport A=4\n").Count);
    }

    [Fact]
    public void Crlf_and_lone_cr_files_parse_like_lf_files_with_the_same_line_numbers()
    {
        const string lf = "A=1\n# c\nB=\"x\ny\"\nC=3 # c\n";
        var crlf = lf.Replace("\n", "\r\n", StringComparison.Ordinal);
        var cr = lf.Replace('\n', '\r');
        foreach (var text in new[] { crlf, cr })
        {
            var entries = DotEnvParser.Parse(text);
            Assert.Equal(["1", "x\ny", "3"], entries.Select(e => e.Value.Reveal()));
            Assert.Equal([1, 3, 5], entries.Select(e => e.Line));
            Assert.Equal([1, 4, 5], entries.Select(e => e.EndLine));
        }
    }

    [Fact]
    public void Lines_that_are_not_assignments_are_skipped()
    {
        var env = Parse("JUST_A_NAME\nnot an assignment\n=no name\nKEY WITH SPACE=x\nOK=yes\n");
        Assert.Equal(new Dictionary<string, string> { ["OK"] = "yes" }, env);
    }

    [Fact]
    public void Names_allow_letters_digits_underscore_dot_and_dash()
    {
        var env = Parse("a.b=1\nc-d=2\n_e=3\n9=4\nMixed_Case=5\n");
        Assert.Equal(["a.b", "c-d", "_e", "9", "Mixed_Case"], env.Keys);
    }

    [Fact]
    public void An_empty_value_does_not_take_the_next_line_but_a_quoted_next_line_is_taken()
    {
        Assert.Equal("", Value("A=\nB=b", "A"));
        Assert.Equal("next", Value("A=\n'next'", "A"));
        Assert.Equal(2, DotEnvParser.Parse("A=\n'next'")[0].EndLine);
    }

    [Fact]
    public void A_bom_and_unicode_whitespace_are_whitespace()
    {
        Assert.Equal("v", Value("\ufeffA=v", "A"));
        Assert.Equal("v", Value("A=\u00a0v\u3000", "A"));
    }

    [Fact]
    public void Empty_text_has_no_entries()
    {
        Assert.Empty(DotEnvParser.Parse(""));
        Assert.Empty(DotEnvParser.Parse("\n\n# only comments\n"));
    }

    [Fact]
    public void An_entry_never_shows_its_value()
    {
        const string canary = "sk_live_canary_4f9a8b7c6d5e";
        var entry = DotEnvParser.Parse($"STRIPE_KEY={canary}\n").Single();
        Assert.Equal("STRIPE_KEY (line 1)", entry.ToString());
        Assert.Equal("***", entry.Value.ToString());
        Assert.DoesNotContain(canary, System.Text.Json.JsonSerializer.Serialize(entry), StringComparison.Ordinal);
        Assert.DoesNotContain(canary, $"{entry}", StringComparison.Ordinal);
    }

    [Fact]
    public void A_large_file_with_an_unclosed_quote_parses_in_bounded_time()
    {
        var text = "A=\"unclosed\n" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"K{i}=v{i}\n"));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var entries = DotEnvParser.Parse(text);
        Assert.Equal(5001, entries.Count);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Parse_rejects_null() => Assert.Throws<ArgumentNullException>(() => DotEnvParser.Parse(null!));
}
