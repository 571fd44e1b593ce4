namespace AgentScope.Tests;

public sealed class GlobTests
{
    [Theory]
    [InlineData("*", "a", true)]
    [InlineData("*", "stripe-refund", true)]
    [InlineData("stripe-*", "stripe-refund", true)]
    [InlineData("stripe-*", "stripe-", true)]
    [InlineData("stripe-*", "stripe", false)]
    [InlineData("stripe-*", "xstripe-refund", false)]
    [InlineData("*-key", "aws-key", true)]
    [InlineData("*-key", "aws-key2", false)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    [InlineData("a*b", "abab", true)]
    [InlineData("a*b", "abba", false)]
    [InlineData("*a*a*", "aa", true)]
    [InlineData("*a*a*", "a", false)]
    [InlineData("?", "a", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "ab", false)]
    [InlineData("db-?", "db-1", true)]
    [InlineData("db-?", "db-12", false)]
    [InlineData("db-??", "db-12", true)]
    [InlineData("?*", "x", true)]
    [InlineData("*?", "", false)]
    [InlineData("**", "anything", true)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "exactly", false)]
    [InlineData("exact", "exac", false)]
    [InlineData("Token", "token", false)]
    [InlineData("token", "Token", false)]
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "axb", false)]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    public void Matches_labels_by_star_and_question_mark_case_sensitively(string pattern, string label, bool expected)
    {
        Assert.Equal(expected, Glob.IsMatch(pattern, label));
    }

    [Fact]
    public void A_long_pathological_pattern_is_answered_without_blowing_up()
    {
        var pattern = string.Concat(Enumerable.Repeat("a*", 60)) + "b";
        var label = new string('a', 128);

        Assert.False(Glob.IsMatch(pattern, label));
        Assert.True(Glob.IsMatch(pattern, label + "b"));
    }
}
