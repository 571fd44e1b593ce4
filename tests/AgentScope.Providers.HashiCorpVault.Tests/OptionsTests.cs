using System.Text;
using AgentScope.Backends;
using AgentScope.Providers.HashiCorpVault.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

public sealed class OptionsTests(VaultServerFixture fixture) : IClassFixture<VaultServerFixture>
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Every_problem_is_reported_together()
    {
        var options = new HashiCorpVaultOptions
        {
            Mount = "",
            RootPath = "a/../b",
            Timeout = TimeSpan.Zero,
            MaxRetries = -1,
            RateLimitWait = TimeSpan.FromSeconds(-1),
            MaxValueBytes = 0,
            Auth = new HashiCorpVaultAuthOptions { Method = HashiCorpVaultAuthMethod.AppRole },
        };
        var ex = Assert.Throws<AgentScopeException>(() => options.Resolve(NoEnvironment));
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
        foreach (var expected in new[] { "Address", "Mount", "RootPath", "Timeout", "MaxRetries", "RateLimitWait", "MaxValueBytes", "Auth.RoleId", "Auth.SecretId" })
        {
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Secrets_in_the_options_never_appear_in_validation_errors()
    {
        var options = new HashiCorpVaultOptions
        {
            Address = "not a url",
            Auth = new HashiCorpVaultAuthOptions { Method = HashiCorpVaultAuthMethod.AppRole, RoleId = "role", SecretId = "s.super-secret-id", SecretIdFile = "/also/given" },
        };
        var ex = Assert.Throws<AgentScopeException>(() => options.Resolve(NoEnvironment));
        Assert.Contains("exactly one of Auth.SecretId and Auth.SecretIdFile", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s.super-secret-id", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("super-secret", new HashiCorpVaultOptions { Address = "http://v:8200", Auth = { Token = "s.super-secret" } }.Resolve(NoEnvironment).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Kubernetes_needs_a_role_and_has_documented_defaults()
    {
        var missingRole = new HashiCorpVaultOptions { Address = "http://v:8200", Auth = { Method = HashiCorpVaultAuthMethod.Kubernetes } };
        Assert.Contains("Auth.Role", Assert.Throws<AgentScopeException>(() => missingRole.Resolve(NoEnvironment)).Message, StringComparison.Ordinal);

        var settings = new HashiCorpVaultOptions { Address = "http://v:8200", Auth = { Method = HashiCorpVaultAuthMethod.Kubernetes, Role = "agentscope" } }.Resolve(NoEnvironment);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", settings.JwtPath);
        Assert.Equal("kubernetes", settings.AuthMount);
        Assert.Equal("secret", settings.Mount);
        Assert.Equal("agentscope", settings.RootPath);
        Assert.Equal(512 * 1024, settings.MaxValueBytes);
    }

    [Fact]
    public void The_VAULT_variables_fill_what_the_options_leave_out()
    {
        var ca = Path.GetTempFileName();
        try
        {
            var env = new Dictionary<string, string>
            {
                ["VAULT_ADDR"] = "https://vault.internal:8200/",
                ["VAULT_TOKEN"] = "hvs.from-env",
                ["VAULT_NAMESPACE"] = "team-a/",
                ["VAULT_CACERT"] = ca,
            };
            var settings = new HashiCorpVaultOptions().Resolve(n => env.GetValueOrDefault(n));
            Assert.Equal(new Uri("https://vault.internal:8200/v1/"), settings.BaseAddress);
            Assert.Equal("hvs.from-env", settings.Token);
            Assert.Equal("team-a/", settings.Namespace);
            Assert.Equal(ca, settings.CaCertificateFile);

            var explicitWins = new HashiCorpVaultOptions { Address = "http://other:8200", Auth = { Token = "hvs.explicit" } }.Resolve(n => env.GetValueOrDefault(n));
            Assert.Equal("hvs.explicit", explicitWins.Token);
            Assert.Equal(new Uri("http://other:8200/v1/"), explicitWins.BaseAddress);
        }
        finally
        {
            File.Delete(ca);
        }
    }

    [Fact]
    public void Skip_tls_verify_is_never_taken_from_the_environment()
    {
        var settings = new HashiCorpVaultOptions { Address = "https://v:8200", Auth = { Token = "t" } }
            .Resolve(n => n == "VAULT_SKIP_VERIFY" ? "true" : null);
        Assert.False(settings.SkipTlsVerify);
    }

    [Fact]
    public async Task The_backend_section_of_agentscope_json_binds_and_runs()
    {
        var server = fixture.Server;
        server.AddAppRole("json-role", "json-secret", TimeSpan.FromHours(1), mount: "approle-json");
        var json = $$"""
            {
              "Backend": {
                "Kind": "HashiCorpVault",
                "Address": "{{server.Address}}",
                "Mount": "secret",
                "RootPath": "json-bound",
                "Auth": { "Method": "AppRole", "RoleId": "json-role", "SecretId": "json-secret", "MountPath": "approle-json" },
                "Timeout": "00:00:05",
                "MaxRetries": 2,
                "RateLimitWait": "00:00:20",
                "MaxConcurrency": 4
              }
            }
            """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        services.AddSingleton(new VaultEnvironment(_ => null));
        services.AddHashiCorpVault(configuration.GetSection("Backend"));
        await using var provider = services.BuildServiceProvider();

        var backend = provider.GetRequiredService<ISecretBackend>();
        Assert.IsType<HashiCorpVaultBackend>(backend);
        Assert.Equal("HashiCorpVault", backend.Capabilities.Name);
        Assert.Equal(4, backend.Capabilities.MaxConcurrency);
        Assert.True(backend.Capabilities.ServerSideFiltering);
        var settings = provider.GetRequiredService<VaultSettings>();
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Timeout);
        Assert.Equal(2, settings.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(20), settings.RateLimitWait);

        await backend.PutAsync(Entry("alpha", "db", "bound"));
        Assert.Equal("bound", Text(await backend.GetAsync(new EntryKey("alpha", "db"))));
        Assert.Contains("json-bound/agents/alpha/db", server.Keys());
        Assert.Contains(server.Requests, r => r.Path == "auth/approle-json/login");
    }

    [Fact]
    public async Task Invalid_options_fail_when_the_backend_is_first_resolved()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new VaultEnvironment(_ => null));
        services.AddHashiCorpVault(o => o.Auth.Method = HashiCorpVaultAuthMethod.Kubernetes);
        await using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<AgentScopeException>(() => provider.GetRequiredService<ISecretBackend>());
        Assert.Contains("Address is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Auth.Role is required", ex.Message, StringComparison.Ordinal);
    }
}
