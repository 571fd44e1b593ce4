using AgentScope.Cli.ImportEnv;
using AgentScope.DotEnv;

namespace AgentScope.Cli.Tests.ImportEnv;

public sealed class ImportPlanTests
{
    private const string Env =
        "PORT=3000\nSTRIPE_API_KEY=sk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDe\nLOG_LEVEL=info\nGITHUB_TOKEN=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n" +
        "EMPTY_SECRET=\nAGENTSCOPE_API_KEY=ask_bot_0123456789ab_x\nConnectionStrings__Default=Server=db;Password=p4ss;\n";

    private static ImportPlan Plan(string text, ImportSelection? selection = null) => ImportPlan.Create(DotEnvParser.Parse(text), selection ?? new());

    private static AgentScopeException PlanFails(string text, ImportSelection selection) =>
        Assert.Throws<AgentScopeException>(() => Plan(text, selection));

    [Theory]
    [InlineData("STRIPE_API_KEY", "stripe-api-key")]
    [InlineData("openaiApiKey", "openaiapikey")]
    [InlineData("ConnectionStrings__Default", "connectionstrings--default")]
    [InlineData("db.password", "db.password")]
    [InlineData("_PRIVATE_TOKEN", "private-token")]
    [InlineData("__X", "x")]
    [InlineData("K-9", "k-9")]
    [InlineData("123", "123")]
    [InlineData("___", null)]
    [InlineData("._-", null)]
    public void Default_labels_are_lower_case_with_dashes_and_double_underscores_become_sections(string name, string? label)
    {
        Assert.Equal(label, ImportPlan.DefaultLabel(name));
        if (label is not null)
        {
            Assert.True(Names.IsValidLabel(label));
        }
    }

    [Fact]
    public void A_name_too_long_for_a_label_has_no_default_label() => Assert.Null(ImportPlan.DefaultLabel(new string('A', Names.MaxLabelLength + 1)));

    [Theory]
    [InlineData("stripe-api-key", "stripe-api-key")]
    [InlineData("connectionstrings--default", "connectionstrings:default")]
    [InlineData("a--b--c", "a:b:c")]
    public void The_configuration_key_reads_double_dashes_as_sections(string label, string key) => Assert.Equal(key, ImportPlan.ConfigurationKeyOf(label));

    [Fact]
    public void By_default_secrets_are_imported_and_configuration_empty_values_and_agentscope_settings_are_kept()
    {
        var plan = Plan(Env);
        Assert.Equal(["STRIPE_API_KEY", "GITHUB_TOKEN", "ConnectionStrings__Default"], plan.Imported.Select(v => v.Name));
        var v = plan.Variables.ToDictionary(x => x.Name);
        Assert.Equal("empty: nothing to import", v["EMPTY_SECRET"].Selection);
        Assert.Equal("AgentScope's own setting: stays in the file", v["AGENTSCOPE_API_KEY"].Selection);
        Assert.Equal(ImportStatus.Kept, v["PORT"].Status);
        Assert.Equal(ImportStatus.Planned, v["GITHUB_TOKEN"].Status);
        Assert.Equal(("GET /v0/vault/connectionstrings--default", "connectionstrings:default"), (v["ConnectionStrings__Default"].RestPath, v["ConnectionStrings__Default"].ConfigurationKey));
        Assert.Null(v["PORT"].RestPath);
        Assert.Equal(2, v["STRIPE_API_KEY"].Line);
    }

    [Fact]
    public void All_imports_every_non_empty_variable_except_agentscopes_own()
    {
        var plan = Plan(Env, new ImportSelection { All = true });
        Assert.Equal(["PORT", "STRIPE_API_KEY", "LOG_LEVEL", "GITHUB_TOKEN", "ConnectionStrings__Default"], plan.Imported.Select(v => v.Name));
        Assert.Equal("--all", plan.Variables.Single(v => v.Name == "PORT").Selection);
    }

    [Fact]
    public void Only_imports_exactly_the_named_variables_whatever_their_class()
    {
        var plan = Plan(Env, new ImportSelection { Only = ["LOG_LEVEL", "GITHUB_TOKEN"] });
        Assert.Equal(["LOG_LEVEL", "GITHUB_TOKEN"], plan.Imported.Select(v => v.Name));
        Assert.Equal("not named by --only", plan.Variables.Single(v => v.Name == "STRIPE_API_KEY").Selection);
    }

    [Fact]
    public void Only_naming_unknown_reserved_or_empty_variables_fails_with_every_problem_listed()
    {
        var e = PlanFails(Env, new ImportSelection { Only = ["NOPE", "AGENTSCOPE_API_KEY", "EMPTY_SECRET"] });
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Contains("--only names 'NOPE', which the file does not define", e.Message, StringComparison.Ordinal);
        Assert.Contains("--only names AGENTSCOPE_API_KEY", e.Message, StringComparison.Ordinal);
        Assert.Contains("--only names EMPTY_SECRET, whose value is empty", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("(nothing was changed)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_overrides_the_default_label()
    {
        var plan = Plan(Env, new ImportSelection { Maps = ["STRIPE_API_KEY=payments.stripe", "GITHUB_TOKEN = gh"] });
        var v = plan.Variables.ToDictionary(x => x.Name);
        Assert.Equal("payments.stripe", v["STRIPE_API_KEY"].Label);
        Assert.Equal("gh", v["GITHUB_TOKEN"].Label);
    }

    [Fact]
    public void Map_problems_are_reported_together()
    {
        var e = PlanFails(Env, new ImportSelection { Maps = ["NOEQUALS", "=x", "MISSING=x", "STRIPE_API_KEY=../x", "GITHUB_TOKEN=a", "GITHUB_TOKEN=b"] });
        Assert.Contains("--map 'NOEQUALS' is not NAME=label", e.Message, StringComparison.Ordinal);
        Assert.Contains("--map '=x' is not NAME=label", e.Message, StringComparison.Ordinal);
        Assert.Contains("--map names 'MISSING', which the file does not define", e.Message, StringComparison.Ordinal);
        Assert.Contains("--map STRIPE_API_KEY='../x': not a valid label", e.Message, StringComparison.Ordinal);
        Assert.Contains("--map names GITHUB_TOKEN twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_of_a_kept_variable_is_a_warning()
    {
        var plan = Plan(Env, new ImportSelection { Maps = ["PORT=port"] });
        Assert.Single(plan.Warnings);
        Assert.StartsWith("--map PORT has no effect: PORT is not imported", plan.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_that_collide_are_found_before_anything_is_written()
    {
        const string text = "API_KEY=a1\napi-key=a2\nApi_Key=a3\nOTHER_KEY=a4\n";
        var e = PlanFails(text, new ImportSelection());
        Assert.Contains("API_KEY, api-key, Api_Key would all be stored as 'api-key'", e.Message, StringComparison.Ordinal);
        Assert.Null(Record.Exception(() => Plan(text, new ImportSelection { Maps = ["api-key=api-key-2", "Api_Key=api-key-3"] })));
    }

    [Fact]
    public void Labels_differing_only_in_case_collide_because_configuration_keys_ignore_case()
    {
        var e = PlanFails("A_TOKEN=x1\nB_TOKEN=x2\n", new ImportSelection { Maps = ["A_TOKEN=Token", "B_TOKEN=token"] });
        Assert.Contains("A_TOKEN, B_TOKEN would all be stored as 'Token'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_map_onto_another_variables_default_label_collides()
    {
        var e = PlanFails("A_TOKEN=x1\nB_TOKEN=x2\n", new ImportSelection { Maps = ["A_TOKEN=b-token"] });
        Assert.Contains("would all be stored as 'b-token'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_without_a_valid_default_label_needs_a_map()
    {
        var e = PlanFails("___=sk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDe\n", new ImportSelection());
        Assert.Contains("___ has no valid default label: name one with --map ___=<label>", e.Message, StringComparison.Ordinal);
        Assert.Equal("stripe", Plan("___=sk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDe\n", new ImportSelection { Maps = ["___=stripe"] }).Imported.Single().Label);
    }

    [Fact]
    public void A_duplicated_name_is_one_variable_with_the_last_value()
    {
        var plan = Plan("TOKEN_A=first\nPORT=1\nTOKEN_A=second\n");
        var v = Assert.Single(plan.Imported);
        Assert.Equal(("TOKEN_A", 3, "second"), (v.Name, v.Line, v.Value.Reveal()));
    }

    [Fact]
    public void A_planned_variable_never_shows_its_value()
    {
        var v = Plan(Env).Imported.First();
        Assert.Equal("STRIPE_API_KEY (line 2)", v.ToString());
    }
}
