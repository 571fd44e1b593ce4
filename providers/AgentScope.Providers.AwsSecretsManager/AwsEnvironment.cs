using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// Where the region, the endpoint and the credentials come from. AWSSDK.Core does what it is good at — the standard
/// credential chain (environment, shared profile, SSO, web identity, container and instance roles, with their refresh)
/// and region resolution; resolution happens on first use and is kept once it succeeds.
/// </summary>
internal sealed class AwsEnvironment
{
    private readonly AwsSecretsManagerOptions _options;
    private readonly Lock _lock = new();
    private string? _region;
    private Uri? _endpoint;
    private AWSCredentials? _credentials;

    internal AwsEnvironment(AwsSecretsManagerOptions options) => _options = options;

    /// <summary>The signing region.</summary>
    internal string Region
    {
        get
        {
            lock (_lock)
            {
                return _region ??= ResolveRegion();
            }
        }
    }

    /// <summary>The service endpoint: <see cref="AwsSecretsManagerOptions.ServiceUrl"/> or the regional public one.</summary>
    internal Uri Endpoint
    {
        get
        {
            if (_options.ServiceUrl is { } configured)
            {
                return configured;
            }

            var region = Region;
            lock (_lock)
            {
                return _endpoint ??= DefaultEndpoint(region);
            }
        }
    }

    internal static Uri DefaultEndpoint(string region) =>
        new($"https://secretsmanager.{region}.{(region.StartsWith("cn-", StringComparison.Ordinal) ? "amazonaws.com.cn" : "amazonaws.com")}/");

    /// <summary>The current credentials (refreshed by the SDK where they expire).</summary>
    internal async ValueTask<ImmutableCredentials> GetCredentialsAsync()
    {
        AWSCredentials source;
        lock (_lock)
        {
            source = _credentials ??= ResolveCredentials();
        }

        try
        {
            var credentials = await source.GetCredentialsAsync().ConfigureAwait(false);
            if (credentials is null || string.IsNullOrEmpty(credentials.AccessKey) || string.IsNullOrEmpty(credentials.SecretKey))
            {
                throw NoCredentials(null);
            }

            return credentials;
        }
        catch (Exception e) when (e is not AgentScopeException and not OperationCanceledException)
        {
            throw NoCredentials(e);
        }
    }

    private AWSCredentials ResolveCredentials()
    {
        if (_options.Credentials is { } explicitCredentials)
        {
            return explicitCredentials;
        }

        try
        {
            if (_options.Profile is { } profile)
            {
                return new CredentialProfileStoreChain().TryGetAWSCredentials(profile, out var fromProfile)
                    ? fromProfile
                    : throw new AgentScopeException(ErrorKind.BackendPermission,
                        $"AWS profile {Display.Quote(profile)} was not found in the shared config or credentials files, or holds no usable credentials");
            }

            return DefaultAWSCredentialsIdentityResolver.GetCredentials(null);
        }
        catch (Exception e) when (e is not AgentScopeException)
        {
            throw NoCredentials(e);
        }
    }

    private static AgentScopeException NoCredentials(Exception? inner) => new(ErrorKind.BackendPermission,
        "no usable AWS credentials for AWS Secrets Manager: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or Backend:Profile, "
        + "or run with a role (SSO, web identity, container or instance role)", inner);

    private string ResolveRegion()
    {
        if (_options.Region is { } configured)
        {
            return configured;
        }

        if (_options.Profile is { } profile && new CredentialProfileStoreChain().TryGetProfile(profile, out var p) && p.Region is { } profileRegion)
        {
            return profileRegion.SystemName;
        }

        foreach (var variable in new[] { "AWS_REGION", "AWS_DEFAULT_REGION" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnvironment && AwsSecretsManagerOptions.IsValidRegion(fromEnvironment))
            {
                return fromEnvironment;
            }
        }

        RegionEndpoint? resolved = null;
        try
        {
            resolved = FallbackRegionFactory.GetRegionEndpoint();
        }
        catch (Exception e) when (e is AmazonClientException or InvalidOperationException or IOException)
        {
            // Nothing configured anywhere: reported below.
        }

        return resolved?.SystemName
            ?? throw AgentScopeException.InvalidInput("no AWS region for AWS Secrets Manager: set Backend:Region, AWS_REGION or a profile's region");
    }
}
