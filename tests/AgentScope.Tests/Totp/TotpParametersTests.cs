namespace AgentScope.Tests;

public sealed class TotpParametersTests
{
    // "Hello!\xDE\xAD\xBE\xEF", the seed in Google Authenticator's documentation.
    private const string Seed = "JBSWY3DPEHPK3PXP";
    private static readonly byte[] SeedBytes = [0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x21, 0xDE, 0xAD, 0xBE, 0xEF];

    [Theory]
    [InlineData(Seed)]
    [InlineData("jbswy3dpehpk3pxp")]
    [InlineData("JBSW Y3DP EHPK 3PXP")]
    [InlineData("jbsw-y3dp-ehpk-3pxp")]
    [InlineData("  JBSWY3DPEHPK3PXP\n")]
    public void A_bare_seed_parses_with_the_defaults(string input)
    {
        var p = TotpParameters.Parse(input);

        Assert.Equal(SeedBytes, p.Secret);
        Assert.Equal(TotpAlgorithm.Sha1, p.Algorithm);
        Assert.Equal(6, p.Digits);
        Assert.Equal(30, p.Period);
    }

    [Fact]
    public void A_full_otpauth_uri_sets_every_parameter()
    {
        var p = TotpParameters.Parse($"otpauth://totp/ACME%20Co:alice@example.com?secret={Seed}&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60");

        Assert.Equal(new TotpParameters(SeedBytes, TotpAlgorithm.Sha256, 8, 60), p);
    }

    [Fact]
    public void A_minimal_otpauth_uri_uses_the_defaults() =>
        Assert.Equal(new TotpParameters(SeedBytes), TotpParameters.Parse($"otpauth://totp/label?secret={Seed}"));

    [Theory]
    [InlineData($"OTPAUTH://TOTP/Label?SECRET={Seed}&ALGORITHM=sha512&DIGITS=8&PERIOD=15")]
    [InlineData($"otpauth://Totp/Label?Secret={Seed}&Algorithm=Sha512&Digits=8&Period=15")]
    [InlineData($"  otpauth://totp/Label?period=15&digits=8&algorithm=SHA512&secret={Seed}#ignored  ")]
    [InlineData($"otpauth://totp/Label?secret=jbsw%20y3dp%20ehpk%203pxp&algorithm=SHA512&digits=8&period=15&image=x")]
    [InlineData($"otpauth://totp?secret={Seed}&algorithm=SHA512&digits=8&period=15")]
    public void Uri_parameter_names_and_algorithm_values_are_case_insensitive_and_order_free(string uri) =>
        Assert.Equal(new TotpParameters(SeedBytes, TotpAlgorithm.Sha512, 8, 15), TotpParameters.Parse(uri));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("----")]
    [InlineData("====")]
    [InlineData("JBSWY3DP!")]
    [InlineData("JBSWY3DPEHPK3PX1")]
    [InlineData($"otpauth://hotp/Label?secret={Seed}&counter=1")]
    [InlineData($"otpauth://steam/Label?secret={Seed}")]
    [InlineData("otpauth://totp/Label?issuer=ACME")]
    [InlineData("otpauth://totp/Label")]
    [InlineData("otpauth://totp/Label?secret=")]
    [InlineData("otpauth://totp/Label?secret")]
    [InlineData("otpauth://totp/Label?secret=%20")]
    [InlineData($"otpauth://totp/Label?secret={Seed}!")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&secret={Seed}")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&digits=7")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&digits=10")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&digits=0")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&digits=-6")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&digits=six")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&digits=")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&period=0")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&period=301")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&period=-30")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&period=99999999999")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&period=30s")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&algorithm=MD5")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&algorithm=SHA-256")]
    [InlineData($"otpauth://totp/Label?secret={Seed}&algorithm=")]
    public void Bad_seeds_and_uris_are_invalid_input_that_never_mention_the_seed(string input)
    {
        var ex = Assert.Throws<AgentScopeException>(() => TotpParameters.Parse(input));

        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
        Assert.Null(ex.InnerException);
        AssertDoesNotLeak(ex.ToString(), "JBSWY3DPEHPK3PX");
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(9)]
    public void The_constructor_refuses_digits_other_than_6_or_8(int digits) =>
        Assert.Equal(ErrorKind.InvalidInput, Assert.Throws<AgentScopeException>(() => new TotpParameters(SeedBytes, digits: digits)).Kind);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(301)]
    public void The_constructor_refuses_periods_outside_1_to_300_seconds(int period) =>
        Assert.Equal(ErrorKind.InvalidInput, Assert.Throws<AgentScopeException>(() => new TotpParameters(SeedBytes, period: period)).Kind);

    [Fact]
    public void The_constructor_refuses_an_empty_secret_and_an_unknown_algorithm()
    {
        Assert.Equal(ErrorKind.InvalidInput, Assert.Throws<AgentScopeException>(() => new TotpParameters([])).Kind);
        Assert.Equal(ErrorKind.InvalidInput, Assert.Throws<AgentScopeException>(() => new TotpParameters(SeedBytes, (TotpAlgorithm)42)).Kind);
    }

    [Fact]
    public void ToString_shows_the_settings_but_never_the_secret()
    {
        var p = TotpParameters.Parse($"otpauth://totp/Label?secret={Seed}&algorithm=SHA256&digits=8&period=60");

        var text = p.ToString();

        Assert.Contains("Sha256", text, StringComparison.Ordinal);
        Assert.Contains("redacted", text, StringComparison.Ordinal);
        AssertDoesNotLeak(text, Seed);
        AssertDoesNotLeak(text, Convert.ToHexString(SeedBytes));
        AssertDoesNotLeak(text, Convert.ToBase64String(SeedBytes));
        Assert.DoesNotContain("72, 101", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Byte", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_with_equal_secrets_are_equal_whatever_the_array_instance()
    {
        var a = TotpParameters.Parse(Seed);
        var b = TotpParameters.Parse($"otpauth://totp/x?secret={Seed.ToLowerInvariant()}");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new TotpParameters(SeedBytes, digits: 8));
        Assert.NotEqual(a, new TotpParameters([.. SeedBytes, 0]));
    }

    // No run of 4 seed characters (either case) may appear: a partial seed is still a leak.
    private static void AssertDoesNotLeak(string text, string secret)
    {
        for (var i = 0; i + 4 <= secret.Length; i++)
        {
            Assert.DoesNotContain(secret.Substring(i, 4), text, StringComparison.OrdinalIgnoreCase);
        }
    }
}
