using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Admin operations on one agent that overlap in one process must not undo each other.</summary>
public sealed class AdminConcurrencyTests
{
    private static readonly EntryKey RecordOfA = new(EntryKey.RegistryNamespace, "agent.a");

    // Starts a revoke of "a" while another admin operation is about to write the record it read before the revoke,
    // and gives the revoke time to finish if nothing holds it back.
    private static void RevokeWhenTheRecordIsWritten(TestHost host, FaultyBackend backend, Action<Task<int>> started)
    {
        backend.BeforePut = async (key, ct) =>
        {
            if (key != RecordOfA)
            {
                return;
            }

            backend.BeforePut = null;
            started(Task.Run(() => host.Admin.RevokeAsync("a")));
            await Task.Delay(200, ct);
        };
    }

    [Fact]
    public async Task A_policy_change_racing_a_revoke_cannot_bring_the_agent_back()
    {
        var backend = new FaultyBackend(new InMemorySecretBackend());
        await using var host = new TestHost(backend);
        var (a, key) = await host.AddAgentAsync("a");
        await a.StoreAsync("x", new SecretValue("v"));
        Task<int>? revoke = null;
        RevokeWhenTheRecordIsWritten(host, backend, t => revoke = t);

        await host.Admin.SetPolicyAsync("a", AgentPolicy.FullControl());
        await revoke!;

        Assert.Equal(AgentStatus.Revoked, (await host.Admin.GetAgentAsync("a")).Status);
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => host.Authenticator.AuthenticateAgentAsync(key));
        Assert.DoesNotContain(await host.ListAllAsync(), m => m.Key.Namespace == "a");
    }

    [Fact]
    public async Task A_key_rotation_racing_a_revoke_cannot_bring_the_keys_back()
    {
        var backend = new FaultyBackend(new InMemorySecretBackend());
        await using var host = new TestHost(backend);
        var (_, key) = await host.AddAgentAsync("a");
        Task<int>? revoke = null;
        RevokeWhenTheRecordIsWritten(host, backend, t => revoke = t);

        var rotated = await host.Admin.RotateKeyAsync("a");
        await revoke!;

        Assert.Equal(AgentStatus.Revoked, (await host.Admin.GetAgentAsync("a")).Status);
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => host.Authenticator.AuthenticateAgentAsync(key));
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => host.Authenticator.AuthenticateAgentAsync(rotated));
    }

    [Fact]
    public async Task Creating_the_same_agent_twice_at_once_creates_it_once()
    {
        var backend = new FaultyBackend(new InMemorySecretBackend());
        await using var host = new TestHost(backend);
        // A slow registry write widens the window between "does it exist?" and "save it".
        backend.BeforePut = (key, ct) => key == RecordOfA ? new ValueTask(Task.Delay(20, ct)) : ValueTask.CompletedTask;

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            try
            {
                return (await host.Admin.CreateAgentAsync("a")).ApiKey;
            }
            catch (AgentScopeException e) when (e.Kind == ErrorKind.Conflict)
            {
                return null;
            }
        })));

        var key = Assert.Single(attempts, k => k is not null);
        await host.Authenticator.AuthenticateAgentAsync(key);
    }

    [Fact]
    public async Task Admin_keys_issued_at_the_same_time_all_work()
    {
        var backend = new FaultyBackend(new InMemorySecretBackend());
        await using var host = new TestHost(backend);
        backend.BeforePut = (key, ct) => key.Label == "admin-keys" ? new ValueTask(Task.Delay(10, ct)) : ValueTask.CompletedTask;

        var keys = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => host.Admin.CreateAdminKeyAsync())));

        foreach (var key in keys)
        {
            await host.Authenticator.AuthenticateAdminAsync(key);
        }
    }
}
