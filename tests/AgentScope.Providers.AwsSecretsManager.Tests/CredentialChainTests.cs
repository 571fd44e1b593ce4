using System.Text;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.AwsSecretsManager;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;

/// <summary>
/// Credentials and region from the AWS SDK's chain, not from options. These tests change process environment variables,
/// so they run alone.
/// </summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class CredentialChainTests : IDisposable
{
    private static readonly string[] Variables =
    [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];

    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    // One folder for the whole run: the AWS SDK keeps the shared files' location once it has read it.
    private static readonly string SharedDir = Directory.CreateTempSubdirectory("agentscope-aws-").FullName;
    private readonly string _dir = SharedDir;

    static CredentialChainTests() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(SharedDir, recursive: true);

    public CredentialChainTests()
    {
        foreach (var v in Variables)
        {
            Environment.SetEnvironmentVariable(v, null);
        }

        // Never the developer's own ~/.aws files; each test starts from empty ones.
        File.WriteAllText(Path.Combine(_dir, "credentials"), string.Empty);
        File.WriteAllText(Path.Combine(_dir, "config"), string.Empty);
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", Path.Combine(_dir, "credentials"));
        Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", Path.Combine(_dir, "config"));
    }

    public void Dispose()
    {
        foreach (var (v, value) in _saved)
        {
            Environment.SetEnvironmentVariable(v, value);
        }

        File.WriteAllText(Path.Combine(_dir, "credentials"), string.Empty);
        File.WriteAllText(Path.Combine(_dir, "config"), string.Empty);
    }

    private static AwsSecretsManagerOptions ChainOptions(SecretsManagerTestServer server, string? profile = null) => new()
    {
        ServiceUrl = server.Url,
        Profile = profile,
        MaxRetries = 0,
    };

    private static AwsSecretsManagerOptions WithRegion(AwsSecretsManagerOptions o)
    {
        o.Region = SecretsManagerTestServer.Region;
        return o;
    }

    private static BackendEntry Entry(string label) => new(
        new EntryMetadata(new EntryKey("alpha", label), SecretKind.Generic, 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, false), "v"u8.ToArray());

    private void WriteProfile(string name, string accessKey, string secretKey, string? region)
    {
        File.AppendAllText(Path.Combine(_dir, "credentials"), $"[{name}]\naws_access_key_id = {accessKey}\naws_secret_access_key = {secretKey}\n", Encoding.ASCII);
        if (region is not null)
        {
            var section = name == "default" ? "default" : "profile " + name;
            File.AppendAllText(Path.Combine(_dir, "config"), $"[{section}]\nregion = {region}\n", Encoding.ASCII);
        }
    }

    [Fact]
    public async Task Environment_credentials_and_region_are_used_when_nothing_is_configured()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", SecretsManagerTestServer.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", SecretsManagerTestServer.SecretKey);
        Environment.SetEnvironmentVariable("AWS_REGION", SecretsManagerTestServer.Region);

        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(ChainOptions(server), http);
        await backend.PutAsync(Entry("env"));
        Assert.Equal(["agentscope/alpha/env"], server.LiveNames());
    }

    [Fact]
    public async Task A_named_profile_gives_credentials_and_region_and_wins_over_the_environment()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        server.AddAccessKey("AKIDPROFILEKEY000001", "profile-secret-key-for-tests-only");
        WriteProfile("agentscope-test", "AKIDPROFILEKEY000001", "profile-secret-key-for-tests-only", SecretsManagerTestServer.Region);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "AKIDWRONGENVKEY00001");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "wrong");
        Environment.SetEnvironmentVariable("AWS_REGION", "eu-central-1");

        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(ChainOptions(server, "agentscope-test"), http);
        await backend.PutAsync(Entry("profile"));
        Assert.Equal(["agentscope/alpha/profile"], server.LiveNames());
    }

    [Fact]
    public async Task In_the_default_chain_environment_variables_beat_the_profile_file()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        WriteProfile("default", "AKIDNOTKNOWNTOSERVER", "unknown", SecretsManagerTestServer.Region);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", SecretsManagerTestServer.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", SecretsManagerTestServer.SecretKey);
        Environment.SetEnvironmentVariable("AWS_REGION", SecretsManagerTestServer.Region);

        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(ChainOptions(server), http);
        await backend.CheckHealthAsync();
    }

    [Fact]
    public async Task A_missing_profile_is_a_permission_error_naming_it()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(WithRegion(ChainOptions(server, "nope")), http);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        Assert.Contains("'nope'", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.TotalCalls);
    }

    [Fact]
    public async Task No_credentials_anywhere_is_a_permission_error_that_says_where_to_put_them()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        Environment.SetEnvironmentVariable("AWS_REGION", SecretsManagerTestServer.Region);
        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(ChainOptions(server), http);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        Assert.Contains("AWS_ACCESS_KEY_ID", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.TotalCalls);
    }

    [Fact]
    public async Task No_region_anywhere_is_an_invalid_input_error()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", SecretsManagerTestServer.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", SecretsManagerTestServer.SecretKey);
        using var http = new HttpClient();
        using var backend = new AwsSecretsManagerBackend(ChainOptions(server), http);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Contains("region", e.Message, StringComparison.Ordinal);
    }
}
