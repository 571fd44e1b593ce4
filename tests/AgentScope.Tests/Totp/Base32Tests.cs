using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace AgentScope.Tests;

public sealed class Base32Tests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("MY======", "f")]
    [InlineData("MZXQ====", "fo")]
    [InlineData("MZXW6===", "foo")]
    [InlineData("MZXW6YQ=", "foob")]
    [InlineData("MZXW6YTB", "fooba")]
    [InlineData("MZXW6YTBOI======", "foobar")]
    public void Decodes_the_RFC_4648_test_vectors(string encoded, string expected) =>
        Assert.Equal(Encoding.ASCII.GetBytes(expected), Base32.Decode(encoded));

    [Theory]
    [InlineData("mzxw6ytboi")]
    [InlineData("MZXW6YTBOI")]
    [InlineData("MzXw 6yTb-Oi")]
    [InlineData("MZXW-6YTB-OI==-====")]
    [InlineData("  MZXW 6YTB OI  ")]
    public void Ignores_case_spaces_hyphens_and_missing_padding(string encoded) =>
        Assert.Equal("foobar"u8.ToArray(), Base32.Decode(encoded));

    [Theory]
    [InlineData("JBSWY3D1")]
    [InlineData("JBSWY3D8")]
    [InlineData("JBSWY3D0")]
    [InlineData("JBSW_Y3DP")]
    [InlineData("JBSWY3DP\u00C9")]
    [InlineData("MY==MY==")]
    [InlineData("MZXQ=")]
    [InlineData("MZXW6YTB========")]
    [InlineData("M")]
    [InlineData("MZX")]
    [InlineData("MZXW6Y")]
    public void Rejects_malformed_input_as_invalid_input(string encoded)
    {
        var ex = Assert.Throws<AgentScopeException>(() => Base32.Decode(encoded));
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
    }

    [Fact]
    public void Encoding_then_decoding_round_trips_any_byte_array() =>
        Prop.ForAll<byte[]>(bytes =>
            {
                bytes ??= [];
                return Base32.Decode(Base32TestEncoder.Encode(bytes)).AsSpan().SequenceEqual(bytes)
                    && Base32.Decode(Base32TestEncoder.Encode(bytes, pad: false).ToLowerInvariant()).AsSpan().SequenceEqual(bytes);
            })
            .QuickCheckThrowOnFailure();
}
