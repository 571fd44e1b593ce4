using AgentScope.Configuration;
using AgentScope.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Client.Tests;

public sealed class ConfigurationProviderTests : IAsyncLifetime
{
    private VaultServer _server = null!;

    public async Task InitializeAsync() => _server = await VaultServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public sealed class StripeOptions
    {
        public string? ApiKey { get; set; }
        public string? Account { get; set; }
    }

    /// <summary>Counts the requests the provider makes, by method and path.</summary>
    private sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add($"{request.Method} {request.RequestUri!.AbsolutePath}");
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private IConfigurationRoot Build(string key, Action<AgentScopeConfigurationSource>? configure = null, HttpMessageHandler? handler = null) =>
        new ConfigurationBuilder().AddAgentScope(s =>
        {
            s.Endpoint = _server.Endpoint;
            s.ApiKey = key;
            s.HttpMessageHandler = handler;
            s.ConfigureClient = o =>
            {
                o.MaxRetries = 0;
                o.AttemptTimeout = TimeSpan.FromSeconds(5);
            };
            configure?.Invoke(s);
        }).Build();

    [Fact]
    public async Task Labels_load_in_one_batch_with_double_dash_as_the_section_separator()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("Stripe--ApiKey", new SecretValue("sk_live_1"));
        await vault.StoreAsync("Stripe--Account", new SecretValue("acct_1"));
        await vault.StoreAsync("other", new SecretValue("o"));
        using var handler = new CountingHandler();

        var config = Build(key, s => s.Labels = ["Stripe--ApiKey", "Stripe--Account"], handler);

        Assert.Equal("sk_live_1", config["Stripe:ApiKey"]);
        Assert.Equal("acct_1", config.GetSection("Stripe").Get<StripeOptions>()!.Account);
        Assert.Null(config["other"]);
        Assert.Equal(["POST /v0/vault/batch-get"], handler.Requests);
    }

    [Fact]
    public async Task A_custom_mapper_filters_labels_and_chooses_keys()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("app.db", new SecretValue("dsn"));
        await vault.StoreAsync("ignored", new SecretValue("x"));

        var config = Build(key, s =>
        {
            s.Labels = ["app.db", "ignored"];
            s.Mapper = new PrefixMapper();
        });

        Assert.Equal("dsn", config["App:db"]);
        Assert.Null(config["ignored"]);
    }

    private sealed class PrefixMapper : AgentScopeKeyMapper
    {
        public override bool Load(string label) => label.StartsWith("app.", StringComparison.Ordinal);

        public override string GetKey(string label) => "App:" + label["app.".Length..];
    }

    [Fact]
    public async Task Json_values_are_flattened_into_sections_only_when_asked()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("crm", new SecretValue("""{"username":"bot","password":"p4ss","ports":[1,2],"nested":{"x":true}}"""));

        var flat = Build(key, s =>
        {
            s.Labels = ["crm"];
            s.FlattenJson = true;
        });
        var raw = Build(key, s => s.Labels = ["crm"]);

        Assert.Equal("bot", flat["crm:username"]);
        Assert.Equal("p4ss", flat["crm:password"]);
        Assert.Equal("2", flat["crm:ports:1"]);
        Assert.Equal("true", flat["crm:nested:x"]);
        Assert.StartsWith("{", raw["crm"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_and_unreadable_labels_are_skipped_and_reported_not_fatal()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("va"));
        await vault.StoreAsync("gh", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));

        var config = Build(key, s =>
        {
            s.Labels = ["a", "gone", "gh"];
            s.LoggerFactory = factory;
        });

        Assert.Equal("va", config["a"]);
        Assert.Null(config["gh"]);
        Assert.Contains(logs.Entries, l => l.Contains("gone", StringComparison.Ordinal) && l.Contains("not_found", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, l => l.Contains("gh", StringComparison.Ordinal) && l.Contains("access_denied", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, l => l.Contains("JBSWY3DPEHPK3PXP", StringComparison.Ordinal) || l.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_server_stops_startup_unless_the_source_is_optional()
    {
        var (key, _) = await _server.AddAgentAsync("alpha");
        await _server.StopAsync();
        var failures = new List<AgentScopeLoadExceptionContext>();

        var required = Assert.Throws<AgentScopeException>(() => Build(key, s => s.Labels = ["a"]));
        var optional = Build(key, s =>
        {
            s.Labels = ["a"];
            s.Optional = true;
            s.OnLoadException = failures.Add;
        });

        Assert.Equal(ErrorKind.BackendUnavailable, required.Kind);
        Assert.DoesNotContain(key, required.ToString(), StringComparison.Ordinal);
        Assert.Null(optional["a"]);
        var failure = Assert.Single(failures);
        Assert.False(failure.Reload);
        Assert.Equal(ErrorKind.BackendUnavailable, failure.Exception.Kind);
    }

    [Fact]
    public async Task A_rotated_secret_reaches_IOptionsMonitor_after_one_reload_interval_and_an_unchanged_poll_costs_one_request()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("Stripe--ApiKey", new SecretValue("sk_live_1"));
        var time = new ManualTimeProvider();
        using var handler = new CountingHandler();
        var config = Build(key, s =>
        {
            s.Labels = ["Stripe--ApiKey"];
            s.ReloadInterval = TimeSpan.FromMinutes(1);
            s.ReloadJitter = 0;
            s.TimeProvider = time;
        }, handler);
        await using var services = new ServiceCollection().Configure<StripeOptions>(config.GetSection("Stripe")).BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<StripeOptions>>();
        Assert.Equal("sk_live_1", monitor.CurrentValue.ApiKey);
        var changed = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = monitor.OnChange(o => changed.TrySetResult(o.ApiKey));

        // Nothing changed: one small request (the version listing), no reload fired.
        await TickAsync(time, TimeSpan.FromMinutes(1), handler, expectedRequests: 2);
        Assert.Equal(["POST /v0/vault/batch-get", "GET /v0/vault"], handler.Requests);
        Assert.False(changed.Task.IsCompleted);

        await vault.StoreAsync("Stripe--ApiKey", new SecretValue("sk_live_2"));
        await TickAsync(time, TimeSpan.FromMinutes(1), handler, expectedRequests: 4);

        Assert.Equal("sk_live_2", await changed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("sk_live_2", monitor.CurrentValue.ApiKey);
        Assert.Equal(["POST /v0/vault/batch-get", "GET /v0/vault", "GET /v0/vault", "POST /v0/vault/batch-get"], handler.Requests);
    }

    [Fact]
    public async Task A_failed_reload_keeps_the_last_good_values_and_reports_until_the_server_is_back()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("v1"));
        var time = new ManualTimeProvider();
        var failures = new List<AgentScopeLoadExceptionContext>();
        using var handler = new CountingHandler();
        var config = Build(key, s =>
        {
            s.Labels = ["a"];
            s.ReloadInterval = TimeSpan.FromSeconds(30);
            s.ReloadJitter = 0;
            s.TimeProvider = time;
            s.OnLoadException = f =>
            {
                lock (failures)
                {
                    failures.Add(f);
                }
            };
        }, handler);

        await _server.StopAsync();
        await TickAsync(time, TimeSpan.FromSeconds(30), handler, expectedRequests: 2);
        await WaitUntilAsync(() => failures.Count == 1);
        Assert.Equal("v1", config["a"]);
        Assert.True(failures[0].Reload);

        await _server.StartAgainAsync();
        await _server.Admin.OpenVaultAsync("alpha").ContinueWith(async t => await (await t).StoreAsync("a", new SecretValue("v2"))).Unwrap();
        await TickAsync(time, TimeSpan.FromSeconds(30), handler, expectedRequests: 4);
        await WaitUntilAsync(() => config["a"] == "v2");
    }

    [Fact]
    public async Task A_revoked_agent_is_reported_and_its_values_are_cleared()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("v1"));
        var time = new ManualTimeProvider();
        var failures = new List<AgentScopeLoadExceptionContext>();
        using var handler = new CountingHandler();
        var config = Build(key, s =>
        {
            s.Labels = ["a"];
            s.ReloadInterval = TimeSpan.FromSeconds(30);
            s.ReloadJitter = 0;
            s.TimeProvider = time;
            s.OnLoadException = failures.Add;
        }, handler);
        Assert.Equal("v1", config["a"]);

        await _server.Admin.RevokeAsync("alpha");
        await TickAsync(time, TimeSpan.FromSeconds(30), handler, expectedRequests: 2);

        await WaitUntilAsync(() => failures.Count == 1);
        Assert.True(failures[0].Revoked);
        Assert.Null(config["a"]);
    }

    [Fact]
    public async Task IConfigurationRoot_Reload_forces_a_full_refresh()
    {
        var (key, vault) = await _server.AddAgentAsync("alpha");
        await vault.StoreAsync("a", new SecretValue("v1"));
        var config = Build(key, s => s.Labels = ["a"]);
        await vault.StoreAsync("a", new SecretValue("v2"));

        config.Reload();

        Assert.Equal("v2", config["a"]);
    }

    [Fact]
    public void A_non_positive_reload_interval_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Build("ask_a_0123456789ab_x", s => s.ReloadInterval = TimeSpan.Zero));
        Assert.Contains("ReloadInterval", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Waits for the reload loop to sit in its delay, moves the clock past it, and waits for the poll's requests.</summary>
    private static async Task TickAsync(ManualTimeProvider time, TimeSpan by, CountingHandler handler, int expectedRequests)
    {
        await WaitUntilAsync(() => time.PendingTimers > 0);
        time.Advance(by);
        await WaitUntilAsync(() =>
        {
            lock (handler.Requests)
            {
                return handler.Requests.Count >= expectedRequests;
            }
        });
        await WaitUntilAsync(() => time.PendingTimers > 0); // the poll finished and the next delay began
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the reload loop");
            await Task.Delay(10);
        }
    }
}
