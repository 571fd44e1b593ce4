using AgentScope.Backends;
using AgentScope.Testing.Emulators.HashiCorpVault;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

/// <summary>Registry records are written with check-and-set, so two replicas cannot lose each other's update.</summary>
public sealed class RegistryCasTests(VaultServerFixture fixture) : IClassFixture<VaultServerFixture>
{
    private static readonly EntryKey Alpha = new(EntryKey.RegistryNamespace, "agent.alpha");

    private VaultTestServer Server => fixture.Server;

    [Fact]
    public async Task Registry_records_live_under_the_registry_folder_of_the_root_path()
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Registry("agent.alpha", "{\"id\":\"alpha\"}", 1));
        Assert.Contains($"{h.RootPath}/agents/_registry/agent.alpha", Server.Keys());
        Assert.Equal("registry", Server.ReadCustomMetadata($"{h.RootPath}/agents/_registry/agent.alpha")!["kind"]);
    }

    [Fact]
    public async Task A_read_modify_write_cycle_succeeds_on_one_replica()
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Registry("agent.alpha", "{\"v\":1}", 1));
        for (var v = 2; v <= 4; v++)
        {
            var current = await h.Backend.GetAsync(Alpha);
            Assert.Equal(v - 1, current!.Metadata.Version);
            await h.Backend.PutAsync(Registry("agent.alpha", $"{{\"v\":{v}}}", v));
        }

        Assert.Equal("{\"v\":4}", Text(await h.Backend.GetAsync(Alpha)));
    }

    [Fact]
    public async Task Two_replicas_updating_the_same_record_cannot_lose_an_update()
    {
        var root = "cas" + Guid.NewGuid().ToString("N")[..8];
        await using var a = VaultHarness.Create(Server, rootPath: root);
        await using var b = VaultHarness.Create(Server, rootPath: root);
        await a.Backend.PutAsync(Registry("agent.alpha", "{\"status\":\"active\"}", 1));

        var seenByA = await a.Backend.GetAsync(Alpha);
        var seenByB = await b.Backend.GetAsync(Alpha);
        await a.Backend.PutAsync(Registry("agent.alpha", "{\"status\":\"revoking\"}", seenByA!.Metadata.Version + 1));
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() =>
            b.Backend.PutAsync(Registry("agent.alpha", "{\"status\":\"active\",\"keys\":2}", seenByB!.Metadata.Version + 1)).AsTask());

        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        Assert.Contains("agent.alpha", ex.Message, StringComparison.Ordinal);
        Assert.Equal("{\"status\":\"revoking\"}", Text(await b.Backend.GetAsync(Alpha)));

        // After reading again, B's retry goes through.
        var fresh = await b.Backend.GetAsync(Alpha);
        await b.Backend.PutAsync(Registry("agent.alpha", "{\"status\":\"revoked\"}", fresh!.Metadata.Version + 1));
        Assert.Equal("{\"status\":\"revoked\"}", Text(await a.Backend.GetAsync(Alpha)));
    }

    [Fact]
    public async Task Creating_a_record_that_another_replica_created_meanwhile_is_a_conflict()
    {
        var root = "cas" + Guid.NewGuid().ToString("N")[..8];
        await using var a = VaultHarness.Create(Server, rootPath: root);
        await using var b = VaultHarness.Create(Server, rootPath: root);
        Assert.Null(await a.Backend.GetAsync(Alpha));
        Assert.Null(await b.Backend.GetAsync(Alpha));
        await a.Backend.PutAsync(Registry("agent.alpha", "{\"by\":\"a\"}", 1));
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => b.Backend.PutAsync(Registry("agent.alpha", "{\"by\":\"b\"}", 1)).AsTask());
        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        Assert.Equal("{\"by\":\"a\"}", Text(await a.Backend.GetAsync(Alpha)));
    }

    [Fact]
    public async Task A_replica_that_never_read_the_record_checks_the_stored_version_before_writing()
    {
        var root = "cas" + Guid.NewGuid().ToString("N")[..8];
        await using var a = VaultHarness.Create(Server, rootPath: root);
        await a.Backend.PutAsync(Registry("agent.alpha", "{\"v\":1}", 1));
        await a.Backend.PutAsync(Registry("agent.alpha", "{\"v\":2}", 2));

        await using var fresh = VaultHarness.Create(Server, rootPath: root);
        await fresh.Backend.PutAsync(Registry("agent.alpha", "{\"v\":3}", 3));
        var stale = await Assert.ThrowsAsync<AgentScopeException>(() => fresh.Backend.PutAsync(Registry("agent.alpha", "{\"v\":\"stale\"}", 3)).AsTask());
        Assert.Equal(ErrorKind.Conflict, stale.Kind);
        Assert.Equal("{\"v\":3}", Text(await a.Backend.GetAsync(Alpha)));
    }

    [Fact]
    public async Task Agent_entries_are_last_write_wins()
    {
        var root = "lww" + Guid.NewGuid().ToString("N")[..8];
        await using var a = VaultHarness.Create(Server, rootPath: root);
        await using var b = VaultHarness.Create(Server, rootPath: root);
        await a.Backend.PutAsync(Entry("alpha", "db", "from-a", version: 1));
        await b.Backend.PutAsync(Entry("alpha", "db", "from-b", version: 1));
        Assert.Equal("from-b", Text(await a.Backend.GetAsync(new EntryKey("alpha", "db"))));
    }

    [Fact]
    public async Task A_deleted_record_can_be_created_again()
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Registry("agent.alpha", "{}", 1));
        await h.Backend.GetAsync(Alpha);
        Assert.True(await h.Backend.DeleteAsync(Alpha));
        await h.Backend.PutAsync(Registry("agent.alpha", "{\"again\":true}", 1));
        Assert.Equal("{\"again\":true}", Text(await h.Backend.GetAsync(Alpha)));
    }
}
