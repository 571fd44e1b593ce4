using AgentScope.DotEnv;

namespace AgentScope.Tests.DotEnv;

public sealed class DotEnvRewriterTests
{
    private static string Rewrite(string text, string[] remove, params string[] append) =>
        DotEnvRewriter.Rewrite(text, remove.ToDictionary(k => k, _ => (string?)null), append);

    [Fact]
    public void Removed_variables_disappear_and_everything_else_stays_byte_for_byte()
    {
        const string text = "# app\nPORT=3000\n\nSTRIPE_KEY=sk_live_x # prod key\n  # keep me\nexport LOG_LEVEL=\"info\"   # quoted\n";
        Assert.Equal("# app\nPORT=3000\n\n  # keep me\nexport LOG_LEVEL=\"info\"   # quoted\n", Rewrite(text, ["STRIPE_KEY"]));
    }

    [Fact]
    public void A_multi_line_value_is_removed_with_all_its_lines()
    {
        const string text = "A=1\nPEM=\"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\"\nB=2\n";
        Assert.Equal("A=1\nB=2\n", Rewrite(text, ["PEM"]));
    }

    [Fact]
    public void Every_definition_of_a_duplicated_name_is_removed_and_the_comment_replaces_the_last()
    {
        const string text = "K=old\nA=1\nK=new\nB=2\n";
        var result = DotEnvRewriter.Rewrite(text, new Dictionary<string, string?> { ["K"] = "# K moved" }, []);
        Assert.Equal("A=1\n# K moved\nB=2\n", result);
    }

    [Fact]
    public void Crlf_files_keep_crlf_and_appended_lines_use_it()
    {
        const string text = "A=1\r\nSECRET=x\r\nB=2\r\n";
        Assert.Equal("A=1\r\nB=2\r\nNEW=v\r\n", Rewrite(text, ["SECRET"], "NEW=v"));
    }

    [Fact]
    public void A_file_without_a_final_newline_gets_one_before_the_appended_lines()
    {
        Assert.Equal("A=1\nNEW=v\n", Rewrite("A=1", [], "NEW=v"));
        Assert.Equal("A=1\n", Rewrite("A=1\nSECRET=x", ["SECRET"]));
        Assert.Equal("NEW=v\n", Rewrite("", [], "NEW=v"));
    }

    [Fact]
    public void A_bom_survives_the_removal_of_the_first_line()
    {
        Assert.Equal("\ufeffA=1\n", Rewrite("\ufeffSECRET=x\nA=1\n", ["SECRET"]));
        var withComment = DotEnvRewriter.Rewrite("\ufeffSECRET=x\nA=1\n", new Dictionary<string, string?> { ["SECRET"] = "# moved" }, []);
        Assert.Equal("\ufeff# moved\nA=1\n", withComment);
    }

    [Fact]
    public void A_value_on_the_line_after_its_name_is_removed_with_it()
    {
        Assert.Equal("B=2\n", Rewrite("SECRET=\n'on the next line'\nB=2\n", ["SECRET"]));
    }

    [Fact]
    public void Nothing_to_remove_or_append_returns_the_text_unchanged()
    {
        const string text = "\ufeff# c\r\nA=1\rB=\"x\ny\"\n\n";
        Assert.Equal(text, Rewrite(text, []));
    }

    [Fact]
    public void The_check_accepts_a_faithful_rewrite()
    {
        const string before = "A=1\nSECRET=x\nB=\"multi\nline\"\n";
        var after = Rewrite(before, ["SECRET"], "AGENTSCOPE_API_KEY=k");
        Assert.Null(DotEnvRewriter.CheckRewrite(before, after, new HashSet<string> { "SECRET" }, new Dictionary<string, string> { ["AGENTSCOPE_API_KEY"] = "k" }));
    }

    [Fact]
    public void The_check_catches_a_removal_that_changes_how_a_neighbour_parses()
    {
        // A= takes a quoted value from the next line once SECRET's line no longer separates them.
        const string before = "A=\nSECRET=x\n'orphan'\n";
        var after = Rewrite(before, ["SECRET"]);
        Assert.Equal("A=\n'orphan'\n", after);
        Assert.Equal("A would read differently", DotEnvRewriter.CheckRewrite(before, after, new HashSet<string> { "SECRET" }, new Dictionary<string, string>()));

        // A comment in SECRET's place keeps the structure.
        var withComment = DotEnvRewriter.Rewrite(before, new Dictionary<string, string?> { ["SECRET"] = "# moved" }, []);
        Assert.Null(DotEnvRewriter.CheckRewrite(before, withComment, new HashSet<string> { "SECRET" }, new Dictionary<string, string>()));
    }

    [Fact]
    public void The_check_reports_a_variable_that_disappears_or_remains()
    {
        var removed = new HashSet<string> { "S" };
        var none = new Dictionary<string, string>();
        Assert.Equal("A would disappear", DotEnvRewriter.CheckRewrite("A=1\nS=2\n", "", removed, none));
        Assert.Equal("S would remain or appear", DotEnvRewriter.CheckRewrite("A=1\nS=2\n", "A=1\nS=2\n", removed, none));
    }

    [Fact]
    public void Lines_split_on_crlf_lf_and_lone_cr_like_the_parser()
    {
        var lines = DotEnvRewriter.SplitLines("a\r\nb\nc\rd");
        Assert.Equal(["a", "b", "c", "d"], lines.Select(l => l.Content));
        Assert.Equal(["\r\n", "\n", "\r", ""], lines.Select(l => l.Terminator));
    }
}
