using System.Text;

namespace AgentScope.Tests;

public sealed class TotpTests
{
    // RFC 6238 Appendix B: the seeds are ASCII digits repeated to the hash's natural key length.
    private const string Sha1Seed = "12345678901234567890";
    private const string Sha256Seed = "12345678901234567890123456789012";
    private const string Sha512Seed = "1234567890123456789012345678901234567890123456789012345678901234";

    public static TheoryData<string, long, string> RfcVectors => new()
    {
        { "SHA1", 59, "94287082" },
        { "SHA256", 59, "46119246" },
        { "SHA512", 59, "90693936" },
        { "SHA1", 1111111109, "07081804" },
        { "SHA256", 1111111109, "68084774" },
        { "SHA512", 1111111109, "25091201" },
        { "SHA1", 1111111111, "14050471" },
        { "SHA256", 1111111111, "67062674" },
        { "SHA512", 1111111111, "99943326" },
        { "SHA1", 1234567890, "89005924" },
        { "SHA256", 1234567890, "91819424" },
        { "SHA512", 1234567890, "93441116" },
        { "SHA1", 2000000000, "69279037" },
        { "SHA256", 2000000000, "90698825" },
        { "SHA512", 2000000000, "38618901" },
        { "SHA1", 20000000000, "65353130" },
        { "SHA256", 20000000000, "77737706" },
        { "SHA512", 20000000000, "47863826" },
    };

    [Theory]
    [MemberData(nameof(RfcVectors))]
    public void Computes_the_RFC_6238_vectors_from_raw_parameters(string algorithm, long unixSeconds, string expected)
    {
        var (seed, alg) = Rfc(algorithm);
        var p = new TotpParameters(Encoding.ASCII.GetBytes(seed), alg, digits: 8);

        Assert.Equal(expected, Totp.Compute(p, DateTimeOffset.FromUnixTimeSeconds(unixSeconds)).Code);
    }

    [Theory]
    [MemberData(nameof(RfcVectors))]
    public void Computes_the_RFC_6238_vectors_from_an_otpauth_uri(string algorithm, long unixSeconds, string expected)
    {
        var secret = Base32TestEncoder.Encode(Encoding.ASCII.GetBytes(Rfc(algorithm).Seed), pad: false);
        var p = TotpParameters.Parse($"otpauth://totp/RFC:test?secret={secret}&algorithm={algorithm}&digits=8&issuer=RFC");

        Assert.Equal(expected, Totp.Compute(p, DateTimeOffset.FromUnixTimeSeconds(unixSeconds)).Code);
    }

    [Theory]
    [InlineData(59, "287082")]
    [InlineData(1111111109, "081804")]
    [InlineData(1234567890, "005924")]
    public void A_bare_seed_gives_the_six_digit_SHA1_code_zero_padded(long unixSeconds, string expected)
    {
        var p = TotpParameters.Parse(Base32TestEncoder.Encode(Encoding.ASCII.GetBytes(Sha1Seed)));

        Assert.Equal(expected, Totp.Compute(p, DateTimeOffset.FromUnixTimeSeconds(unixSeconds)).Code);
    }

    [Theory]
    [InlineData(0, 30, 30)]
    [InlineData(1, 30, 29)]
    [InlineData(29, 30, 1)]
    [InlineData(30, 30, 30)]
    [InlineData(59, 30, 1)]
    [InlineData(1111111109, 30, 1)]
    [InlineData(61, 60, 59)]
    [InlineData(119, 60, 1)]
    [InlineData(12345, 1, 1)]
    [InlineData(599, 300, 1)]
    [InlineData(600, 300, 300)]
    public void Remaining_is_the_seconds_until_the_next_time_step(long unixSeconds, int period, int expected)
    {
        var p = new TotpParameters(Encoding.ASCII.GetBytes(Sha1Seed), period: period);

        Assert.Equal(expected, Totp.Compute(p, DateTimeOffset.FromUnixTimeSeconds(unixSeconds)).Remaining);
    }

    [Fact]
    public void Fractions_of_a_second_do_not_change_the_step_or_the_remaining_seconds()
    {
        var p = new TotpParameters(Encoding.ASCII.GetBytes(Sha1Seed));
        var start = DateTimeOffset.FromUnixTimeSeconds(1111111110);

        var atStart = Totp.Compute(p, start);
        var justBeforeNext = Totp.Compute(p, start.AddSeconds(29.999));
        var next = Totp.Compute(p, start.AddSeconds(30));

        Assert.Equal(atStart.Code, justBeforeNext.Code);
        Assert.Equal(1, justBeforeNext.Remaining);
        Assert.NotEqual(atStart.Code, next.Code);
        Assert.Equal(30, next.Remaining);
    }

    [Fact]
    public void The_offset_of_the_clock_does_not_matter_only_the_instant()
    {
        var p = new TotpParameters(Encoding.ASCII.GetBytes(Sha1Seed), digits: 8);
        var instant = DateTimeOffset.FromUnixTimeSeconds(1234567890).ToOffset(TimeSpan.FromHours(-7));

        Assert.Equal(new TotpCode("89005924", 30 - (1234567890 % 30)), Totp.Compute(p, instant));
    }

    [Fact]
    public void A_time_before_the_unix_epoch_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            Totp.Compute(new TotpParameters(Encoding.ASCII.GetBytes(Sha1Seed)), DateTimeOffset.FromUnixTimeSeconds(-1)));

    private static (string Seed, TotpAlgorithm Algorithm) Rfc(string algorithm) => algorithm switch
    {
        "SHA1" => (Sha1Seed, TotpAlgorithm.Sha1),
        "SHA256" => (Sha256Seed, TotpAlgorithm.Sha256),
        "SHA512" => (Sha512Seed, TotpAlgorithm.Sha512),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
