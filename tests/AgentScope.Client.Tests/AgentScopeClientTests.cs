using AgentScope.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Client.Tests;

public sealed class AgentScopeClientTests : IAsyncLifetime
{
    private VaultServer _server = null!;

    public async Task InitializeAsync() => _server = await VaultServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private AgentScopeClient Client(string key, Action<AgentScopeClientOptions>? configure = null, ILogger<AgentScopeClient>? logger = null)
    {
        var options = new AgentScopeClientOptions { Endpoint = _server.Endpoint, ApiKey = key, RetryDelay = TimeSpan.FromMilliseconds(10) };
        configure?.Invoke(options);
        return new AgentScopeClient(new HttpClient(), Options.Create(options), logger);
    }

    [Fact]
    public async Task Store_get_list_totp_and_delete_round_trip_through_the_server()
    {
        var (key, _) = await _server.AddAgentAsync("alpha");
        var client = Client(key);

        var created = await client.StoreAsync("stripe-key", new SecretValue("sk_live_1"));
        var rotated = await client.StoreAsync("stripe-key", new SecretValue("sk_live_2"));
        Assert.True(created.Created);
        Assert.False(rotated.Created);
        Assert.Equal(2, rotated.Version);

        var got = await client.GetAsync("stripe-key");
        Assert.Equal("sk_live_2", got.Value.Reveal());
        Assert.Equal(2, got.Version);

        await client.StoreAsync("gh", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });
        var code = await client.GetTotpAsync("gh");
        Assert.Matches("^[0-9]{6}$", code.Code);
        Assert.InRange(code.Remaining, 1, 30);

        var labels = await client.ListAsync();
        Assert.Equal(["gh", "stripe-key"], labels.Select(l => l.Label).Order(StringComparer.Ordinal));
        Assert.Equal("totp", labels.Single(l => l.Label == "gh").Kind);

        await client.DeleteAsync("stripe-key");
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => client.GetAsync("stripe-key"));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task Batch_get_returns_values_and_a_typed_error_per_label()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("va"));
        await vault.StoreAsync("b", new SecretValue("vb"));

        var result = await Client(key).BatchGetAsync(["a", "b", "missing"]);

        Assert.Equal(["va", "vb"], result.Values.OrderBy(v => v.Label, StringComparer.Ordinal).Select(v => v.Value.Reveal()));
        Assert.Equal(ErrorKind.NotFound, result.Errors["missing"].Kind);
    }

    [Fact]
    public async Task Errors_come_back_as_the_cores_typed_exceptions()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha", new AgentPolicy
        {
            Rules = [new PolicyRule { Labels = "open-*", Operations = ["*"] }],
        });
        await _server.Admin.OpenVaultAsync("alpha").ContinueWith(async t => await (await t).StoreAsync("closed", new SecretValue("x"))).Unwrap();
        var client = Client(key);

        Assert.Equal(ErrorKind.AccessDenied, (await Assert.ThrowsAsync<AgentScopeException>(() => client.GetAsync("closed"))).Kind);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<AgentScopeException>(() => client.GetAsync("open-none"))).Kind);
        Assert.Equal(ErrorKind.InvalidInput, (await Assert.ThrowsAsync<AgentScopeException>(() => client.GetAsync("../x"))).Kind);
        Assert.Equal(ErrorKind.Unauthenticated, (await Assert.ThrowsAsync<AgentScopeException>(() => Client(key + "x").ListAsync())).Kind);

        await _server.Admin.RevokeAsync("alpha");
        Assert.Equal(ErrorKind.AgentRevoked, (await Assert.ThrowsAsync<AgentScopeException>(() => client.ListAsync())).Kind);
    }

    [Fact]
    public async Task An_unreachable_server_is_backend_unavailable_after_the_retries_and_names_no_key()
    {
        var (key, _) = await _server.AddAgentAsync("alpha");
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var client = Client(key, o => o.MaxRetries = 2, factory.CreateLogger<AgentScopeClient>());
        await _server.StopAsync();

        var e = await Assert.ThrowsAsync<AgentScopeException>(() => client.GetAsync("anything"));

        Assert.Equal(ErrorKind.BackendUnavailable, e.Kind);
        Assert.Equal(2, logs.Entries.Count(l => l.Contains("retry", StringComparison.Ordinal)));
        Assert.DoesNotContain(key, e.ToString(), StringComparison.Ordinal);
        Assert.All(logs.Entries, l => Assert.DoesNotContain(key, l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retry_succeeds_once_the_server_is_back()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("va"));
        var client = Client(key, o =>
        {
            o.MaxRetries = 6;
            o.RetryDelay = TimeSpan.FromMilliseconds(200);
        });
        await _server.StopAsync();

        var read = client.GetAsync("a");
        await Task.Delay(300);
        await _server.StartAgainAsync();

        Assert.Equal("va", (await read).Value.Reveal());
    }

    [Fact]
    public async Task The_client_registers_through_the_http_client_factory_and_reads_its_settings_from_the_environment_names()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("va"));
        var services = new ServiceCollection();
        services.AddAgentScopeClient(o =>
        {
            o.Endpoint = _server.Endpoint;
            o.ApiKey = key;
        });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<AgentScopeClient>();

        Assert.Equal("va", (await client.GetAsync("a")).Value.Reveal());
    }

    [Fact]
    public void Endpoint_and_key_default_to_AGENTSCOPE_URL_and_AGENTSCOPE_API_KEY()
    {
        var env = new Dictionary<string, string> { ["AGENTSCOPE_URL"] = "http://127.0.0.1:9/", ["AGENTSCOPE_API_KEY"] = " ask_a_0123456789ab_s \n" };
        var options = new AgentScopeClientOptions();

        options.ApplyDefaultsAndValidate(name => env.GetValueOrDefault(name));

        Assert.Equal(new Uri("http://127.0.0.1:9/"), options.Endpoint);
        Assert.Equal("ask_a_0123456789ab_s", options.ApiKey);
    }

    [Fact]
    public void Missing_settings_are_reported_together()
    {
        var options = new AgentScopeClientOptions { Endpoint = new Uri("ftp://x/"), ApiKey = " ", MaxRetries = 99 };

        var e = Assert.Throws<AgentScopeException>(() => options.ApplyDefaultsAndValidate(_ => null));
        Assert.Contains("Endpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("ApiKey", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRetries", e.Message, StringComparison.Ordinal);
    }
}
