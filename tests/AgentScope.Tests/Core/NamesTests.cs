namespace AgentScope.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("Z")]
    [InlineData("7")]
    [InlineData("stripe-refund")]
    [InlineData("a.b_c-d")]
    [InlineData("ends.")]
    [InlineData("ends-")]
    [InlineData("ends_")]
    [InlineData("a..b")]
    [InlineData("UPPER.lower.09")]
    public void Accepts_labels_in_the_grammar(string label)
    {
        Assert.True(Names.IsValidLabel(label));
        Assert.Equal(label, Names.ValidateLabel(label));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("_under")]
    [InlineData("..")]
    [InlineData("../a/x")]
    [InlineData("a/x")]
    [InlineData("a\\x")]
    [InlineData("%2e%2e%2f")]
    [InlineData("a b")]
    [InlineData(" a")]
    [InlineData("a ")]
    [InlineData("a\tb")]
    [InlineData("a\0")]
    [InlineData("a:b")]
    [InlineData("a@b")]
    [InlineData("a+b")]
    [InlineData("ｘ")] // fullwidth x
    [InlineData("\u0430")] // Cyrillic a
    [InlineData("a\u200db")] // zero-width joiner
    [InlineData("é")]
    [InlineData("\u0661")] // Arabic-Indic digit one: a digit, but not ASCII
    public void Refuses_labels_outside_the_grammar(string label)
    {
        Assert.False(Names.IsValidLabel(label));
        var e = Assert.Throws<AgentScopeException>(() => Names.ValidateLabel(label));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
    }

    [Fact]
    public void A_null_label_is_invalid_input()
    {
        Assert.False(Names.IsValidLabel(null));
        Assert.Equal(ErrorKind.InvalidInput, Assert.Throws<AgentScopeException>(() => Names.ValidateLabel(null)).Kind);
    }

    [Fact]
    public void A_label_of_128_characters_is_accepted_and_one_of_129_is_not()
    {
        Assert.True(Names.IsValidLabel(new string('x', 128)));
        Assert.False(Names.IsValidLabel(new string('x', 129)));
        Assert.Equal(128, Names.MaxLabelLength);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("support-bot")]
    [InlineData("a--b")]
    [InlineData("0")]
    [InlineData("9lives")]
    public void Accepts_agent_ids_in_the_grammar(string id)
    {
        Assert.True(Names.IsValidAgentId(id));
        Assert.Equal(id, Names.ValidateAgentId(id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("A")]
    [InlineData("Support")]
    [InlineData("a_b")]
    [InlineData("_registry")]
    [InlineData("a.b")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("\u0430")]
    public void Refuses_agent_ids_outside_the_grammar(string id)
    {
        Assert.False(Names.IsValidAgentId(id));
        Assert.Equal(ErrorKind.InvalidInput, Assert.Throws<AgentScopeException>(() => Names.ValidateAgentId(id)).Kind);
    }

    [Fact]
    public void An_agent_id_of_63_characters_is_accepted_and_one_of_64_is_not()
    {
        Assert.True(Names.IsValidAgentId(new string('a', 63)));
        Assert.False(Names.IsValidAgentId(new string('a', 64)));
    }

    [Fact]
    public void Error_messages_bound_the_quoted_input_and_strip_control_characters()
    {
        var e = Assert.Throws<AgentScopeException>(() => Names.ValidateLabel("bad\nlabel\u0007" + new string('x', 500)));

        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\u0007', e.Message);
        Assert.DoesNotContain(new string('x', 100), e.Message);
    }
}
