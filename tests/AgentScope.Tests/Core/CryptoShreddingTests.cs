using System.Text;
using AgentScope.Agents;
using AgentScope.Backends;
using AgentScope.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Tests;

public sealed class CryptoShreddingTests
{
    private const string Plain = "sk_live_plaintext_that_must_not_be_stored";

    private static async Task<(TestHost Host, AgentVault A, AgentVault B)> SetUpAsync()
    {
        var host = new TestHost(configure: o => o.ClientSideEncryption = true);
        var (a, _) = await host.AddAgentAsync("a");
        var (b, _) = await host.AddAgentAsync("b");
        await a.StoreAsync("db", new SecretValue(Plain));
        return (host, a, b);
    }

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;

    [Fact]
    public async Task With_client_side_encryption_the_backend_holds_only_ciphertext()
    {
        var (host, a, _) = await SetUpAsync();
        await using var _ = host;

        var raw = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;

        Assert.True(raw.Metadata.Encrypted);
        Assert.False(Contains(raw.Value, Plain));
        Assert.False(Contains(raw.Value, "plaintext_that"));
        Assert.Equal(Encoding.UTF8.GetByteCount(Plain) + 29, raw.Value.Length);
        Assert.Equal(Plain, (await a.GetAsync("db")).Value.Reveal());
        await a.StoreAsync("db", new SecretValue(Plain));
        var second = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;
        Assert.NotEqual(raw.Value, second.Value);
    }

    [Fact]
    public async Task Without_client_side_encryption_a_remote_backend_holds_the_plain_value()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("db", new SecretValue(Plain));

        var raw = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;

        Assert.False(raw.Metadata.Encrypted);
        Assert.Equal(Plain, Encoding.UTF8.GetString(raw.Value));
    }

    [Fact]
    public async Task A_ciphertext_copied_to_another_label_does_not_decrypt()
    {
        var (host, a, _) = await SetUpAsync();
        await using var _ = host;
        var raw = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;

        await host.Backend.PutAsync(raw with { Metadata = raw.Metadata with { Key = new EntryKey("a", "copy") } });

        var e = await Expect.FailsAsync(ErrorKind.BackendPermission, () => a.GetAsync("copy"));
        Assert.DoesNotContain(Plain, e.ToString());
        Assert.Equal(Plain, (await a.GetAsync("db")).Value.Reveal());
    }

    [Fact]
    public async Task A_ciphertext_copied_to_another_agent_does_not_decrypt()
    {
        var (host, _, b) = await SetUpAsync();
        await using var _ = host;
        var raw = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;

        await host.Backend.PutAsync(raw with { Metadata = raw.Metadata with { Key = new EntryKey("b", "db") } });

        var e = await Expect.FailsAsync(ErrorKind.BackendPermission, () => b.GetAsync("db"));
        Assert.DoesNotContain(Plain, e.ToString());
    }

    [Fact]
    public async Task A_ciphertext_presented_as_another_version_does_not_decrypt()
    {
        var (host, a, _) = await SetUpAsync();
        await using var _ = host;
        var v1 = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;
        await a.StoreAsync("db", new SecretValue("second"));

        await host.Backend.PutAsync(v1 with { Metadata = v1.Metadata with { Version = 2 } });

        await Expect.FailsAsync(ErrorKind.BackendPermission, () => a.GetAsync("db"));
    }

    [Fact]
    public async Task A_tampered_ciphertext_does_not_decrypt()
    {
        var (host, a, _) = await SetUpAsync();
        await using var _ = host;
        var raw = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;

        foreach (var index in new[] { 0, 5, raw.Value.Length / 2, raw.Value.Length - 1 })
        {
            var bytes = (byte[])raw.Value.Clone();
            bytes[index] ^= 0x01;
            await host.Backend.PutAsync(raw with { Value = bytes });
            await Expect.FailsAsync(ErrorKind.BackendPermission, () => a.GetAsync("db"));
        }

        await host.Backend.PutAsync(raw with { Value = raw.Value[..10] });
        await Expect.FailsAsync(ErrorKind.BackendPermission, () => a.GetAsync("db"));
    }

    [Fact]
    public async Task A_backup_restored_after_revoke_is_unreadable_even_by_a_new_agent_of_the_same_id()
    {
        var (host, _, _) = await SetUpAsync();
        await using var _ = host;
        var backup = (await host.Backend.GetAsync(new EntryKey("a", "db")))!;
        await host.Admin.RevokeAsync("a");
        var (again, _) = await host.AddAgentAsync("a");

        await host.Backend.PutAsync(backup);

        var e = await Expect.FailsAsync(ErrorKind.BackendPermission, () => again.GetAsync("db"));
        Assert.DoesNotContain(Plain, e.ToString());
    }

    [Fact]
    public async Task A_wrapped_data_key_copied_onto_another_agents_record_does_not_unwrap()
    {
        await using var host = new TestHost(configure: o => o.ClientSideEncryption = true);
        await host.AddAgentAsync("a");
        var (_, keyB) = await host.AddAgentAsync("b");
        var registry = host.Services.GetRequiredService<AgentRegistry>();
        var a = (await registry.GetRecordAsync("a", default))!;
        var b = (await registry.GetRecordAsync("b", default))!;

        b.WrappedDataKey = a.WrappedDataKey;
        await registry.SaveAsync(b, default);

        await Expect.FailsAsync(ErrorKind.BackendPermission, () => host.Authenticator.AuthenticateAgentAsync(keyB));
    }

    [Fact]
    public async Task The_same_backend_under_another_master_key_reveals_nothing()
    {
        var backend = new InMemorySecretBackend();
        string key;
        await using (var first = new TestHost(backend, configure: o => o.ClientSideEncryption = true))
        {
            var (a, k) = await first.AddAgentAsync("a");
            await a.StoreAsync("db", new SecretValue(Plain));
            key = k;
        }

        await using var second = new TestHost(backend, configure: o => o.ClientSideEncryption = true);

        var e = await Expect.FailsAsync(ErrorKind.BackendPermission, () => second.Authenticator.AuthenticateAgentAsync(key));
        Assert.DoesNotContain(Plain, e.ToString());
    }
}
