using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Two processes (replicas) over one backend, each with its own identity cache and clock.</summary>
public sealed class ReplicaTests
{
    [Fact]
    public async Task Another_replica_notices_a_revoke_within_the_identity_cache_ttl_and_its_stores_leave_nothing_behind()
    {
        var backend = new InMemorySecretBackend();
        await using var one = new TestHost(backend, configure: o => o.ClientSideEncryption = true);
        await using var two = new TestHost(backend, configure: o =>
        {
            o.MasterKey = one.MasterKey;
            o.ClientSideEncryption = true;
        });
        var (_, key) = await one.AddAgentAsync("a");
        var onTwo = await two.Authenticator.AuthenticateAgentAsync(key);
        await onTwo.StoreAsync("db", new SecretValue("v"));

        await one.Admin.RevokeAsync("a");

        // Within the TTL replica two still holds the identity, but the data is gone and a write undoes itself.
        await Expect.FailsAsync(ErrorKind.NotFound, () => onTwo.GetAsync("db"));
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => onTwo.StoreAsync("late", new SecretValue("v")));
        Assert.DoesNotContain(await one.ListAllAsync(), m => m.Key.Namespace == "a");

        two.Time.Advance(TimeSpan.FromSeconds(5));
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => onTwo.GetAsync("db"));
        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => two.Authenticator.AuthenticateAgentAsync(key));
    }

    [Fact]
    public async Task A_replica_with_a_zero_ttl_sees_a_revoke_at_once()
    {
        var backend = new InMemorySecretBackend();
        await using var one = new TestHost(backend);
        await using var two = new TestHost(backend, configure: o =>
        {
            o.MasterKey = one.MasterKey;
            o.IdentityCacheTtl = TimeSpan.Zero;
        });
        var (_, key) = await one.AddAgentAsync("a");
        var onTwo = await two.Authenticator.AuthenticateAgentAsync(key);

        await one.Admin.RevokeAsync("a");

        await Expect.FailsAsync(ErrorKind.AgentRevoked, () => onTwo.ListAsync());
    }
}
