using Microsoft.Extensions.Configuration;

namespace AgentScope.Server.Tests;

/// <summary>The configuration provider (AgentScope.Configuration) loading from a real server: its startup load is one batch read without labels.</summary>
public sealed class ConfigurationLoadTests
{
    [Fact]
    public async Task A_configuration_without_a_label_list_loads_every_generic_label_of_the_agent_in_one_batch_read()
    {
        await using var server = await TestServer.StartAsync();
        var key = await server.CreateAgentAsync("web-app");
        await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "ConnectionStrings--Main", value = "Host=db;Database=app" });
        await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "Stripe--ApiKey", value = "sk_live_config" });
        await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "github-2fa", value = "JBSWY3DPEHPK3PXP", kind = "totp" });

        var configuration = new ConfigurationBuilder().AddAgentScope(server.Client.BaseAddress!, key).Build();

        Assert.Equal("Host=db;Database=app", configuration.GetConnectionString("Main"));
        Assert.Equal("sk_live_config", configuration["Stripe:ApiKey"]);
        Assert.Null(configuration["github-2fa"]); // a TOTP seed is never loaded
        Assert.Single(server.Logs.Lines, l => l.Contains("POST /v0/vault/batch-get -> 200", StringComparison.Ordinal));
    }
}
