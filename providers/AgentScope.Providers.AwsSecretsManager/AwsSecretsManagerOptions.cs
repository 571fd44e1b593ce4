using Amazon.Runtime;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// Settings of the AWS Secrets Manager backend, validated once (every problem reported together).
/// Bound from the <c>"Backend"</c> section of <c>agentscope.json</c>:
/// <c>{"Backend": {"Kind": "AwsSecretsManager", "Region": "eu-west-1", "Prefix": "agentscope"}}</c>.
/// </summary>
public sealed class AwsSecretsManagerOptions
{
    /// <summary>The longest prefix accepted, so that <c>prefix/agent/label</c> always fits AWS's 512-character names.</summary>
    public const int MaxPrefixLength = 512 - Names.MaxAgentIdLength - Names.MaxLabelLength - 2;

    /// <summary>
    /// The AWS region, e.g. <c>eu-west-1</c>. When null: the profile's region (with <see cref="Profile"/>), then
    /// <c>AWS_REGION</c> / <c>AWS_DEFAULT_REGION</c>, then the AWS SDK's region resolver (shared config, instance metadata).
    /// </summary>
    public string? Region { get; set; }

    /// <summary>
    /// A custom endpoint (a VPC interface endpoint, a FIPS endpoint, or an emulator), e.g.
    /// <c>https://vpce-0123-abcd.secretsmanager.eu-west-1.vpce.amazonaws.com</c>. When null,
    /// <c>https://secretsmanager.{region}.amazonaws.com</c>. Requests are still signed for <see cref="Region"/>.
    /// </summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>
    /// The first segment of every secret name: entries are <c>{Prefix}/{agent}/{label}</c>, the registry
    /// <c>{Prefix}/_registry/{label}</c>. Default <c>agentscope</c>. Letters, digits and <c>/_+=.@-</c>; must not start
    /// or end with '/'. Two installations in one account need prefixes where neither is a path prefix of the other.
    /// </summary>
    public string Prefix { get; set; } = "agentscope";

    /// <summary>The KMS key (ARN, key id or alias) new secrets are encrypted with; null uses <c>aws/secretsmanager</c>.</summary>
    public string? KmsKeyId { get; set; }

    /// <summary>
    /// Null (default): every delete is <c>ForceDeleteWithoutRecovery</c>, so the name is free at once and no copy waits in a
    /// recovery window. 7–30: deletes are scheduled with that recovery window instead (the backend cannot tell a user's delete
    /// from a revoke, so revoked agents' entries wait too — turn on AgentScope's client-side encryption so revoke's
    /// crypto-shredding makes those copies unreadable). Storing a label again while its old secret waits restores it and
    /// writes the new value over it.
    /// </summary>
    public int? RecoveryWindowDays { get; set; }

    /// <summary>A named profile of the shared AWS config/credentials files to take credentials (and region) from; null uses the default chain.</summary>
    public string? Profile { get; set; }

    /// <summary>
    /// Explicit credentials, for code that already has them (tests, custom providers). Null (default) uses <see cref="Profile"/>
    /// or the AWS SDK's default chain: environment, shared profile, SSO, web identity, container and instance roles.
    /// Not bound from configuration: keep access keys out of <c>agentscope.json</c>.
    /// </summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>How often a throttled, failed (5xx) or timed-out call is retried, with jittered exponential backoff. Default 8.</summary>
    public int MaxRetries { get; set; } = 8;

    /// <summary>The first retry's mean delay; later ones double up to <see cref="MaxRetryDelay"/>. Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest delay between two retries. Default 10 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one attempt may take before it counts as failed (and is retried). Default 30 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many calls this backend has in flight at once (retry waits excluded). Default 8.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Reports every problem together as one invalid-input error.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid AWS Secrets Manager options: " + string.Join("; ", problems));
        }
    }

    internal List<string> Problems()
    {
        var problems = new List<string>();
        if (Region is not null && !IsValidRegion(Region))
        {
            problems.Add($"Region {Display.Quote(Region)} is not an AWS region name (like eu-west-1)");
        }

        if (ServiceUrl is not null && (!ServiceUrl.IsAbsoluteUri || (ServiceUrl.Scheme != Uri.UriSchemeHttps && ServiceUrl.Scheme != Uri.UriSchemeHttp)))
        {
            problems.Add("ServiceUrl must be an absolute http(s) URL");
        }
        else if (ServiceUrl is not null && (!string.IsNullOrEmpty(ServiceUrl.Query) || !string.IsNullOrEmpty(ServiceUrl.UserInfo)))
        {
            problems.Add("ServiceUrl must not carry a query string or user information");
        }

        if (string.IsNullOrEmpty(Prefix))
        {
            problems.Add("Prefix is required (default 'agentscope')");
        }
        else if (Prefix.Length > MaxPrefixLength || Prefix[0] == '/' || Prefix[^1] == '/' || Prefix.Contains("//", StringComparison.Ordinal)
                 || !Prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '+' or '=' or '.' or '@' or '-'))
        {
            problems.Add($"Prefix {Display.Quote(Prefix)} must be 1-{MaxPrefixLength} letters, digits or /_+=.@- and must not start or end with '/'");
        }

        if (KmsKeyId is not null && (KmsKeyId.Length is 0 or > 2048 || KmsKeyId.Any(char.IsWhiteSpace)))
        {
            problems.Add("KmsKeyId must be a KMS key ARN, key id or alias");
        }

        if (RecoveryWindowDays is < 7 or > 30)
        {
            problems.Add("RecoveryWindowDays must be between 7 and 30 (or unset, to delete without a recovery window)");
        }

        if (Profile is not null && string.IsNullOrWhiteSpace(Profile))
        {
            problems.Add("Profile must not be blank");
        }

        if (MaxRetries is < 0 or > 50)
        {
            problems.Add("MaxRetries must be between 0 and 50");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromMinutes(1))
        {
            problems.Add("RetryBaseDelay must be between 0 and 1 minute");
        }

        if (MaxRetryDelay < RetryBaseDelay || MaxRetryDelay > TimeSpan.FromMinutes(5))
        {
            problems.Add("MaxRetryDelay must be at least RetryBaseDelay and at most 5 minutes");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(10))
        {
            problems.Add("RequestTimeout must be positive and at most 10 minutes");
        }

        if (MaxConcurrency is < 1 or > 256)
        {
            problems.Add("MaxConcurrency must be between 1 and 256");
        }

        return problems;
    }

    internal static bool IsValidRegion(string region) =>
        region.Length is > 0 and <= 32
        && char.IsAsciiLetterLower(region[0])
        && char.IsAsciiDigit(region[^1])
        && region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
        && region.Contains('-', StringComparison.Ordinal);
}
