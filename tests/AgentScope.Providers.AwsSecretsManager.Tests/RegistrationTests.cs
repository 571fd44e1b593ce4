using System.Text;
using AgentScope.Backends;
using AgentScope.Testing;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

public sealed class RegistrationTests
{
    private static IConfiguration Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    [Fact]
    public void The_backend_section_of_agentscope_json_binds_every_documented_key()
    {
        var config = Json("""
            {"Backend": {"Kind": "AwsSecretsManager", "Region": "eu-west-1", "Prefix": "corp/agentscope",
                         "ServiceUrl": "https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com", "KmsKeyId": "alias/agentscope",
                         "RecoveryWindowDays": 7, "Profile": "prod", "MaxRetries": 3, "MaxConcurrency": 16,
                         "RequestTimeout": "00:00:05", "RetryBaseDelay": "00:00:00.100", "MaxRetryDelay": "00:00:02"}}
            """);
        var services = new ServiceCollection().AddAwsSecretsManager(config.GetSection("Backend"));
        using var sp = services.BuildServiceProvider();
        var o = sp.GetRequiredService<IOptions<AwsSecretsManagerOptions>>().Value;

        Assert.Equal("eu-west-1", o.Region);
        Assert.Equal("corp/agentscope", o.Prefix);
        Assert.Equal(new Uri("https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com"), o.ServiceUrl);
        Assert.Equal("alias/agentscope", o.KmsKeyId);
        Assert.Equal(7, o.RecoveryWindowDays);
        Assert.Equal("prod", o.Profile);
        Assert.Equal(3, o.MaxRetries);
        Assert.Equal(16, o.MaxConcurrency);
        Assert.Equal(TimeSpan.FromSeconds(5), o.RequestTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(100), o.RetryBaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(2), o.MaxRetryDelay);

        var backend = sp.GetRequiredService<ISecretBackend>();
        Assert.IsType<AwsSecretsManagerBackend>(backend);
        Assert.Same(backend, sp.GetRequiredService<AwsSecretsManagerBackend>());
        Assert.Equal("AwsSecretsManager", backend.Capabilities.Name);
        Assert.Equal(16, backend.Capabilities.MaxConcurrency);
        Assert.True(backend.Capabilities.ServerSideFiltering);
    }

    [Fact]
    public void Another_backend_kind_is_refused()
    {
        var config = Json("""{"Backend": {"Kind": "Vault", "Region": "eu-west-1"}}""");
        using var sp = new ServiceCollection().AddAwsSecretsManager(config.GetSection("Backend")).BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<ISecretBackend>());
        Assert.Contains("not AwsSecretsManager", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_short_kind_aws_is_accepted()
    {
        var config = Json("""{"Backend": {"Kind": "aws", "Region": "eu-west-1"}}""");
        using var sp = new ServiceCollection().AddAwsSecretsManager(config.GetSection("Backend")).BuildServiceProvider();
        Assert.IsType<AwsSecretsManagerBackend>(sp.GetRequiredService<ISecretBackend>());
    }

    [Fact]
    public void Every_invalid_option_is_reported_together()
    {
        using var sp = new ServiceCollection().AddAwsSecretsManager(o =>
        {
            o.Region = "EU West";
            o.Prefix = "/bad prefix/";
            o.RecoveryWindowDays = 3;
            o.MaxRetries = -1;
            o.MaxConcurrency = 0;
            o.ServiceUrl = new Uri("ftp://example.com/");
        }).BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<ISecretBackend>());
        Assert.Equal(6, e.Failures.Count());
        foreach (var word in new[] { "Region", "Prefix", "RecoveryWindowDays", "MaxRetries", "MaxConcurrency", "ServiceUrl" })
        {
            Assert.Contains(word, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Constructing_with_invalid_options_throws_one_invalid_input_error()
    {
        using var http = new HttpClient();
        var e = Assert.Throws<AgentScopeException>(() => new AwsSecretsManagerBackend(new AwsSecretsManagerOptions { Prefix = "", RecoveryWindowDays = 31 }, http));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Contains("Prefix", e.Message, StringComparison.Ordinal);
        Assert.Contains("RecoveryWindowDays", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_endpoint_is_the_regional_one()
    {
        Assert.Equal(new Uri("https://secretsmanager.eu-west-1.amazonaws.com/"), AwsEnvironment.DefaultEndpoint("eu-west-1"));
        Assert.Equal(new Uri("https://secretsmanager.cn-north-1.amazonaws.com.cn/"), AwsEnvironment.DefaultEndpoint("cn-north-1"));
    }

    [Fact]
    public void The_longest_prefix_still_leaves_room_for_every_agent_and_label()
    {
        var prefix = new string('p', AwsSecretsManagerOptions.MaxPrefixLength);
        Assert.Empty(new AwsSecretsManagerOptions { Prefix = prefix }.Problems());
        var name = new SecretLayout(prefix).Name(new EntryKey(new string('a', Names.MaxAgentIdLength), new string('l', Names.MaxLabelLength)));
        Assert.Equal(512, name.Length);
        Assert.NotEmpty(new AwsSecretsManagerOptions { Prefix = prefix + "p" }.Problems());
    }

    [Fact]
    public async Task A_registered_backend_talks_to_the_configured_endpoint_through_the_http_client_factory()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var services = new ServiceCollection().AddAwsSecretsManager(o =>
        {
            var test = TestBackend.OptionsFor(server);
            o.Region = test.Region;
            o.ServiceUrl = test.ServiceUrl;
            o.Credentials = test.Credentials;
        });
        await using var sp = services.BuildServiceProvider();
        var backend = sp.GetRequiredService<ISecretBackend>();
        await backend.PutAsync(new BackendEntry(
            new EntryMetadata(new EntryKey("alpha", "k"), SecretKind.Generic, 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, false), "v"u8.ToArray()));
        Assert.Equal(["agentscope/alpha/k"], server.LiveNames());
    }

    [Fact]
    public async Task The_registered_http_client_writes_no_request_logs_even_at_trace_level()
    {
        await using var server = await SecretsManagerTestServer.StartAsync();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .AddAwsSecretsManager(o =>
            {
                var test = TestBackend.OptionsFor(server);
                o.Region = test.Region;
                o.ServiceUrl = test.ServiceUrl;
                o.Credentials = test.Credentials;
            });
        await using var sp = services.BuildServiceProvider();
        await sp.GetRequiredService<ISecretBackend>().CheckHealthAsync();

        Assert.Equal(1, server.TotalCalls);
        Assert.DoesNotContain(logs.Entries, e => e.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Contains("Authorization", StringComparison.OrdinalIgnoreCase));
    }
}
