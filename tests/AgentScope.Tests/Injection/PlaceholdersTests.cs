using AgentScope.Injection;

namespace AgentScope.Tests.Injection;

public sealed class PlaceholdersTests
{
    [Fact]
    public void Secret_and_totp_placeholders_are_found_in_order_with_their_positions()
    {
        const string text = "Bearer {{secret:stripe-refund}} and {{totp:github.2fa}}";
        var found = Placeholders.Find(text, "test");
        Assert.Equal(2, found.Count);
        Assert.Equal(new Placeholder(PlaceholderKind.Secret, "stripe-refund", 7, 24), found[0]);
        Assert.Equal(PlaceholderKind.Totp, found[1].Kind);
        Assert.Equal("github.2fa", found[1].Label);
        Assert.Equal("{{totp:github.2fa}}", text[found[1].Start..found[1].End]);
    }

    [Theory]
    [InlineData("{{ secret:a }}", "a")]
    [InlineData("{{SECRET:a}}", "a")]
    [InlineData("{{Totp: a_b}}", "a_b")]
    [InlineData("{{{secret:a}}}", "a")]
    public void Spaces_and_the_case_of_the_kind_are_tolerated(string text, string label)
    {
        var p = Assert.Single(Placeholders.Find(text, "test"));
        Assert.Equal(label, p.Label);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no braces")]
    [InlineData("{{name}} is a template variable")]
    [InlineData("{{ other:thing }}")]
    [InlineData("{\"secret\": \"x\"}")]
    [InlineData("{{secret-not-a-kind}}")]
    public void Other_text_and_other_double_braces_are_left_alone(string text) => Assert.Empty(Placeholders.Find(text, "test"));

    [Theory]
    [InlineData("{{secret:}}")]
    [InlineData("{{secret:a")]
    [InlineData("{{secret:../other/x}}")]
    [InlineData("{{secret:a b}}")]
    [InlineData("{{totp:-leading-dash}}")]
    [InlineData("{{secret:%2e%2e}}")]
    public void A_started_placeholder_that_does_not_complete_is_an_error_not_text(string text)
    {
        var e = Assert.Throws<AgentScopeException>(() => Placeholders.Find(text, "body"));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Contains("body", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_label_longer_than_the_grammar_allows_is_refused()
    {
        var e = Assert.Throws<AgentScopeException>(() => Placeholders.Find("{{secret:" + new string('a', Names.MaxLabelLength + 1) + "}}", "url"));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
    }

    [Fact]
    public void Substitution_replaces_each_placeholder_once_and_does_not_expand_placeholders_inside_values()
    {
        const string text = "a={{secret:x}}&b={{totp:y}}&c={{secret:x}}";
        var result = Placeholders.Substitute(text, Placeholders.Find(text, "test"),
            p => p.Kind == PlaceholderKind.Secret ? "{{secret:y}}" : "123456");
        Assert.Equal("a={{secret:y}}&b=123456&c={{secret:y}}", result);
    }

    [Fact]
    public void Substitution_without_placeholders_returns_the_text_itself()
    {
        const string text = "plain";
        Assert.Same(text, Placeholders.Substitute(text, [], _ => "x"));
    }
}
