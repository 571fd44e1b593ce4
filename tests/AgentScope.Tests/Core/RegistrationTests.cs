using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Tests;

public sealed class RegistrationTests
{
    private static readonly string Key = Convert.ToBase64String(new byte[32]);

    private static async Task<AgentScopeAuthenticator> FailingAuditAsync(IServiceProvider sp)
    {
        var auth = sp.GetRequiredService<AgentScopeAuthenticator>();
        var created = await auth.LocalAdmin().CreateAgentAsync("a");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        ((CollectingAuditSink)sp.GetRequiredService<IAuditSink>()).FailWith = new IOException("sink down");
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => vault.StoreAsync("x", new SecretValue("v")));
        return auth;
    }

    private static ServiceCollection Basics()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ISecretBackend>(new InMemorySecretBackend());
        services.AddSingleton<IAuditSink>(new CollectingAuditSink());
        return services;
    }

    [Fact]
    public async Task Logging_added_after_AddAgentScope_receives_the_core_logs()
    {
        var logs = new CapturingLoggerProvider();
        var services = Basics();
        services.AddAgentScope(o => o.MasterKey = Key);
        services.AddLogging(b => b.AddProvider(logs));
        await using var sp = services.BuildServiceProvider();

        await FailingAuditAsync(sp);

        Assert.Contains(logs.Entries, e => e.Contains("audit sink failed", StringComparison.Ordinal) && e.Contains("sink down", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logging_added_before_AddAgentScope_receives_the_core_logs()
    {
        var logs = new CapturingLoggerProvider();
        var services = Basics();
        services.AddLogging(b => b.AddProvider(logs));
        services.AddAgentScope(o => o.MasterKey = Key);
        await using var sp = services.BuildServiceProvider();

        await FailingAuditAsync(sp);

        Assert.Contains(logs.Entries, e => e.Contains("audit sink failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_container_without_logging_still_resolves_and_runs_the_core()
    {
        var services = Basics();
        services.AddAgentScope(o => o.MasterKey = Key);
        await using var sp = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        await FailingAuditAsync(sp);
    }

    [Fact]
    public async Task AddAgentScope_does_not_replace_the_applications_own_time_provider()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero));
        var services = Basics();
        services.AddSingleton<TimeProvider>(time);
        services.AddAgentScope(o => o.MasterKey = Key);
        await using var sp = services.BuildServiceProvider();

        var created = await sp.GetRequiredService<AgentScopeAuthenticator>().LocalAdmin().CreateAgentAsync("a");

        Assert.Equal(time.GetUtcNow(), created.Agent.CreatedAt);
    }

    [Fact]
    public async Task Invalid_options_are_reported_together_as_invalid_input_when_first_resolved()
    {
        var services = Basics();
        services.AddAgentScope(o =>
        {
            o.MasterKey = "dG9vIHNob3J0";
            o.MaxValueBytes = 0;
            o.KeyRotationGrace = TimeSpan.FromSeconds(-1);
            o.MaxConcurrency = 0;
        });
        await using var sp = services.BuildServiceProvider();

        var e = Assert.Throws<AgentScopeException>(() => sp.GetRequiredService<AgentScopeAuthenticator>());

        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Contains("master key", e.Message);
        Assert.Contains("MaxValueBytes", e.Message);
        Assert.Contains("KeyRotationGrace", e.Message);
        Assert.Contains("MaxConcurrency", e.Message);
        Assert.DoesNotContain("dG9vIHNob3J0", e.Message);
    }

    [Fact]
    public async Task A_missing_master_key_is_invalid_input()
    {
        var services = Basics();
        services.AddAgentScope(_ => { });
        await using var sp = services.BuildServiceProvider();

        var e = Assert.Throws<AgentScopeException>(() => sp.GetRequiredService<AgentScopeAuthenticator>());

        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Contains("MasterKey is required", e.Message);
    }
}
