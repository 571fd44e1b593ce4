using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

/// <summary>
/// The signer against AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite, from the AWS General
/// Reference "Signature Version 4 test suite": credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
/// region us-east-1, service "service", 2015-08-30T12:36:00Z). Each case's .creq, .sts and .authz are copied below.
/// </summary>
public sealed class SigV4SignerTests
{
    private const string SuiteAccessKey = "AKIDEXAMPLE";
    private const string SuiteSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private static SigV4Signer.Signature SignSuite(string method, string query) => SigV4Signer.Sign(
        method, "/", query, [new("Host", "example.amazonaws.com")], SigV4Signer.EmptyPayloadHash,
        SuiteAccessKey, SuiteSecretKey, sessionToken: null, "us-east-1", "service", SuiteTime);

    [Fact]
    public void Get_vanilla_matches_the_suite()
    {
        // get-vanilla: GET / HTTP/1.1, Host:example.amazonaws.com, X-Amz-Date:20150830T123600Z
        var s = SignSuite("GET", string.Empty);
        Assert.Equal(
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            s.CanonicalRequest);
        Assert.Equal(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
            s.StringToSign);
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            s.Authorization);
    }

    [Fact]
    public void Post_vanilla_matches_the_suite()
    {
        // post-vanilla: POST / HTTP/1.1, no body
        var s = SignSuite("POST", string.Empty);
        Assert.Equal(
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            s.CanonicalRequest);
        Assert.Equal(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
            "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
            s.StringToSign);
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            s.Authorization);
    }

    [Fact]
    public void Get_vanilla_query_order_key_case_matches_the_suite()
    {
        // get-vanilla-query-order-key-case: GET /?Param2=value2&Param1=value1 — parameters sorted by name.
        var s = SignSuite("GET", "Param2=value2&Param1=value1");
        Assert.Equal(
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            s.CanonicalRequest);
        Assert.Equal(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
            s.StringToSign);
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            s.Authorization);
    }

    [Fact]
    public void A_secrets_manager_request_with_a_session_token_signs_as_the_aws_sdk_does()
    {
        var body = """{"SecretId":"agentscope/alpha/db"}"""u8.ToArray();
        var now = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var s = SigV4Signer.Sign("POST", "/", string.Empty,
            [new("Content-Type", "application/x-amz-json-1.1"), new("Host", "secretsmanager.eu-west-1.amazonaws.com"), new("X-Amz-Target", "secretsmanager.GetSecretValue")],
            SigV4Signer.HashPayload(body), "AKIDEXAMPLE", SuiteSecretKey, "session-token-example", "eu-west-1", "secretsmanager", now);

        Assert.Equal("content-type;host;x-amz-date;x-amz-security-token;x-amz-target", s.SignedHeaders);
        Assert.Contains("x-amz-security-token:session-token-example\n", s.CanonicalRequest, StringComparison.Ordinal);
        var sdk = AWS4Signer.ComputeSignature(new ImmutableCredentials("AKIDEXAMPLE", SuiteSecretKey, "session-token-example"),
            "eu-west-1", now.UtcDateTime, "secretsmanager", s.SignedHeaders, s.CanonicalRequest);
        Assert.Equal(sdk.ForAuthorizationHeader, s.Authorization);
    }

    [Fact]
    public void A_cached_signing_key_signs_as_a_fresh_one_and_is_derived_again_when_the_date_or_key_changes()
    {
        var keys = new SigV4Signer.SigningKeyCache();
        SigV4Signer.Signature Sign(DateTimeOffset at, string secretKey, SigV4Signer.SigningKeyCache? cache) => SigV4Signer.Sign(
            "GET", "/", string.Empty, [new("Host", "example.amazonaws.com")], SigV4Signer.EmptyPayloadHash,
            SuiteAccessKey, secretKey, sessionToken: null, "us-east-1", "service", at, cache);

        foreach (var (at, secretKey) in new[] { (SuiteTime, SuiteSecretKey), (SuiteTime.AddMinutes(5), SuiteSecretKey), (SuiteTime.AddDays(1), SuiteSecretKey), (SuiteTime.AddDays(1), "another-secret-key") })
        {
            Assert.Equal(Sign(at, secretKey, cache: null).Authorization, Sign(at, secretKey, keys).Authorization);
        }

        Assert.Equal(SignSuite("GET", string.Empty).Authorization, Sign(SuiteTime, SuiteSecretKey, keys).Authorization);
    }

    [Fact]
    public void The_derived_key_matches_the_aws_sdk()
    {
        var ours = SigV4Signer.SigningKey(SuiteSecretKey, "20150830", "us-east-1", "service");
        var sdk = AWS4Signer.ComposeSigningKey(SuiteSecretKey, "us-east-1", "20150830", "service");
        Assert.Equal(sdk, ours);
    }

    [Fact]
    public void Repeated_headers_keep_their_order_as_the_suites_get_header_key_duplicate_case()
    {
        // get-header-key-duplicate: My-Header1 given three times (value2, value2, value1), around Host.
        var s = SigV4Signer.Sign("GET", "/", string.Empty,
            [new("My-Header1", "value2"), new("Host", "example.amazonaws.com"), new("My-Header1", "value2"), new("my-header1", "value1")],
            SigV4Signer.EmptyPayloadHash, SuiteAccessKey, SuiteSecretKey, sessionToken: null, "us-east-1", "service", SuiteTime);
        Assert.Equal(
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            s.CanonicalRequest);
        var sdk = AWS4Signer.ComputeSignature(new ImmutableCredentials(SuiteAccessKey, SuiteSecretKey, null),
            "us-east-1", SuiteTime.UtcDateTime, "service", s.SignedHeaders, s.CanonicalRequest);
        Assert.Equal(sdk.ForAuthorizationHeader, s.Authorization);
    }

    [Fact]
    public void A_canonical_request_too_long_for_the_stack_buffer_signs_as_the_aws_sdk_does()
    {
        var keys = new SigV4Signer.SigningKeyCache();
        var value = string.Concat(Enumerable.Repeat("väl\u1234ue ", 300)); // several kilobytes of UTF-8, some of it multi-byte
        var s = SigV4Signer.Sign("POST", "/", string.Empty, [new("Host", "example.amazonaws.com"), new("X-Long", value)],
            SigV4Signer.EmptyPayloadHash, SuiteAccessKey, SuiteSecretKey, "token", "us-east-1", "service", SuiteTime, keys);

        Assert.True(System.Text.Encoding.UTF8.GetByteCount(s.CanonicalRequest) > 2048);
        Assert.EndsWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s.CanonicalRequest))), s.StringToSign, StringComparison.Ordinal);
        var sdk = AWS4Signer.ComputeSignature(new ImmutableCredentials(SuiteAccessKey, SuiteSecretKey, "token"),
            "us-east-1", SuiteTime.UtcDateTime, "service", s.SignedHeaders, s.CanonicalRequest);
        Assert.Equal(sdk.ForAuthorizationHeader, s.Authorization);
    }

    [Fact]
    public void Concurrent_signatures_with_one_key_cache_all_match_the_uncached_signature()
    {
        var keys = new SigV4Signer.SigningKeyCache();
        SigV4Signer.Signature Sign(int i, SigV4Signer.SigningKeyCache? cache) => SigV4Signer.Sign(
            "POST", "/", string.Empty, [new("Host", "example.amazonaws.com"), new("X-N", i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            SigV4Signer.EmptyPayloadHash, SuiteAccessKey, SuiteSecretKey, sessionToken: null, "us-east-1", "service", SuiteTime, cache);

        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => Assert.Equal(Sign(i, cache: null).Authorization, Sign(i, keys).Authorization));
    }

    [Theory]
    [InlineData("  a   b  ", "a b")]
    [InlineData("value", "value")]
    public void Header_values_are_trimmed_and_inner_spaces_collapsed(string value, string canonical)
    {
        var creq = SigV4Signer.CanonicalRequest("GET", "/", string.Empty, [new("My-Header", value), new("Host", "h")], SigV4Signer.EmptyPayloadHash, out var signed);
        Assert.Contains("my-header:" + canonical + "\n", creq, StringComparison.Ordinal);
        Assert.Equal("host;my-header", signed);
    }

    [Fact]
    public void Uri_encoding_keeps_only_unreserved_characters()
    {
        Assert.Equal("AZaz09-_.~%2F%20%E1%88%B4", SigV4Signer.UriEncode("AZaz09-_.~/ \u1234"));
        Assert.Equal("/a%2520b/c", SigV4Signer.CanonicalUri("/a%20b/c"));
    }
}
