using System.Text;
using System.Text.Json.Nodes;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.HashiCorpVault;
using static AgentScope.Providers.HashiCorpVault.Tests.TestEntries;

namespace AgentScope.Providers.HashiCorpVault.Tests;

/// <summary>What AgentScope leaves in Vault, and how it reads what others left there.</summary>
public sealed class LayoutTests(VaultServerFixture fixture) : IClassFixture<VaultServerFixture>
{
    private VaultTestServer Server => fixture.Server;

    [Fact]
    public async Task A_text_value_is_stored_readably_with_its_metadata_in_data_and_custom_metadata()
    {
        await using var h = VaultHarness.Create(Server);
        var entry = new BackendEntry(new EntryMetadata(new EntryKey("alpha", "stripe.key"), SecretKind.Totp, 3, T0, T0.AddMinutes(1), T0.AddDays(7), false),
            Encoding.UTF8.GetBytes("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"));
        await h.Backend.PutAsync(entry);

        var path = $"{h.RootPath}/agents/alpha/stripe.key";
        var data = Server.ReadData(path)!;
        Assert.Equal("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", (string?)data["value"]);
        Assert.Equal("utf8", (string?)data["encoding"]);
        var custom = Server.ReadCustomMetadata(path)!;
        Assert.Equal("agentscope", custom["managed-by"]);
        Assert.Equal("alpha", custom["agent"]);
        Assert.Equal("stripe.key", custom["label"]);
        Assert.Equal("totp", custom["kind"]);
        Assert.Equal("3", custom["version"]);
        Assert.Equal("false", custom["encrypted"]);
        Assert.Equal(T0.AddDays(7), DateTimeOffset.Parse(custom["expires"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain(custom.Values, v => v.Contains("JBSWY3DPEHPK3PXP", StringComparison.Ordinal));
        Assert.True(custom.Count <= 64 && custom.All(p => p.Key.Length <= 128 && Encoding.UTF8.GetByteCount(p.Value) <= 512));
    }

    [Fact]
    public async Task Ciphertext_and_bytes_that_are_not_utf8_are_stored_as_base64()
    {
        await using var h = VaultHarness.Create(Server);
        byte[] invalidUtf8 = [0xff, 0xfe, 0x00, 0x41];
        await h.Backend.PutAsync(new BackendEntry(new EntryMetadata(new EntryKey("alpha", "cipher"), SecretKind.Generic, 1, T0, T0, null, true), [1, 2, 3]));
        await h.Backend.PutAsync(new BackendEntry(new EntryMetadata(new EntryKey("alpha", "raw"), SecretKind.Generic, 1, T0, T0, null, false), invalidUtf8));

        Assert.Equal("base64", (string?)Server.ReadData($"{h.RootPath}/agents/alpha/cipher")!["encoding"]);
        Assert.Equal("AQID", (string?)Server.ReadData($"{h.RootPath}/agents/alpha/cipher")!["value"]);
        Assert.Equal(invalidUtf8, (await h.Backend.GetAsync(new EntryKey("alpha", "raw")))!.Value);
    }

    [Fact]
    public async Task Every_request_carries_the_vault_request_header_and_the_token_header()
    {
        var token = Server.CreateToken();
        await using var h = VaultHarness.Create(Server, o => o.Auth.Token = token);
        await h.Backend.PutAsync(Entry("hdr", "db", "v"));
        await ToList(h.Backend.ListAsync("hdr"));
        var mine = Server.Requests.Where(r => r.Token == token).ToList();
        Assert.NotEmpty(mine);
        Assert.All(mine, r => Assert.True(r.VaultRequestHeader));
        Assert.Contains(mine, r => r.Method == "LIST" && r.Path == $"secret/metadata/{h.RootPath}/agents/hdr/");
    }

    [Fact]
    public async Task An_agent_with_nothing_stored_lists_as_empty()
    {
        await using var h = VaultHarness.Create(Server);
        Assert.Empty(await ToList(h.Backend.ListAsync("nobody")));
        Assert.Empty(await ToList(h.Backend.ListAllAsync()));
    }

    [Fact]
    public async Task A_value_written_by_hand_with_vault_kv_put_reads_and_lists_as_a_generic_entry()
    {
        await using var h = VaultHarness.Create(Server);
        Server.WriteRaw($"{h.RootPath}/agents/alpha/legacy-token", new JsonObject { ["value"] = "by-hand" });
        Server.WriteRaw($"{h.RootPath}/agents/alpha/legacy-token", new JsonObject { ["value"] = "by-hand-2" });

        var got = await h.Backend.GetAsync(new EntryKey("alpha", "legacy-token"));
        Assert.Equal("by-hand-2", Text(got));
        Assert.Equal(SecretKind.Generic, got!.Metadata.Kind);
        Assert.Equal(2, got.Metadata.Version);
        var listed = Assert.Single(await ToList(h.Backend.ListAsync("alpha")));
        Assert.Equal(new EntryKey("alpha", "legacy-token"), listed.Key);
        Assert.Equal(2, listed.Version);
    }

    [Fact]
    public async Task Members_of_a_hand_written_data_map_that_are_not_strings_are_ignored()
    {
        await using var h = VaultHarness.Create(Server);
        Server.WriteRaw($"{h.RootPath}/agents/alpha/mixed", new JsonObject
        {
            ["port"] = 5432,
            ["nested"] = new JsonObject { ["value"] = "not this one", ["list"] = new JsonArray(1, "two", null) },
            ["enabled"] = true,
            ["none"] = null,
            ["value"] = "the \u002B value \"quoted\"",
        });

        var got = await h.Backend.GetAsync(new EntryKey("alpha", "mixed"));
        Assert.Equal("the \u002B value \"quoted\"", Text(got));
        Assert.Equal(SecretKind.Generic, got!.Metadata.Kind);
        Assert.Equal(1, got.Metadata.Version);
    }

    [Fact]
    public async Task An_entry_whose_metadata_write_never_happened_lists_from_its_data_map()
    {
        await using var h = VaultHarness.Create(Server);
        Server.Deny($"secret/metadata/{h.RootPath}/agents/*", "update");
        await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.PutAsync(Entry("alpha", "half", "v", version: 4, kind: SecretKind.Totp)).AsTask());
        Server.AllowAll();

        var listed = Assert.Single(await ToList(h.Backend.ListAsync("alpha")));
        Assert.Equal(4, listed.Version);
        Assert.Equal(SecretKind.Totp, listed.Kind);
        Assert.Equal(4, (await h.Backend.GetAsync(new EntryKey("alpha", "half")))!.Metadata.Version);
    }

    [Fact]
    public async Task Keys_that_are_not_in_the_grammar_are_ignored_by_enumeration()
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Entry("alpha", "ok", "v"));
        Server.WriteRaw($"{h.RootPath}/agents/alpha/nested/deeper", new JsonObject { ["value"] = "x" });
        Server.WriteRaw($"{h.RootPath}/agents/Not_An_Agent/x", new JsonObject { ["value"] = "x" });
        Server.WriteRaw($"{h.RootPath}/agents/loose-file", new JsonObject { ["value"] = "x" });

        Assert.Equal(["ok"], (await ToList(h.Backend.ListAsync("alpha"))).Select(m => m.Key.Label));
        Assert.Equal([new EntryKey("alpha", "ok")], (await ToList(h.Backend.ListAllAsync())).Select(m => m.Key));
    }

    [Theory]
    [InlineData("alpha", "../escape")]
    [InlineData("alpha", "a/b")]
    [InlineData("Alpha", "db")]
    [InlineData("../x", "db")]
    [InlineData("_other", "db")]
    public async Task Keys_outside_the_grammar_are_refused_before_any_request(string ns, string label)
    {
        await using var h = VaultHarness.Create(Server);
        var before = Server.Requests.Count;
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.GetAsync(new EntryKey(ns, label)).AsTask());
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
        Assert.Equal(before, Server.Requests.Count);
    }

    [Fact]
    public async Task Delete_destroys_every_version_and_the_metadata()
    {
        await using var h = VaultHarness.Create(Server);
        await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
        await h.Backend.PutAsync(Entry("alpha", "db", "v2", version: 2));
        Assert.True(await h.Backend.DeleteAsync(new EntryKey("alpha", "db")));
        Assert.DoesNotContain($"{h.RootPath}/agents/alpha/db", Server.Keys());
        Assert.Contains(Server.Requests, r => r.Method == "DELETE" && r.Path == $"secret/metadata/{h.RootPath}/agents/alpha/db");
    }

    [Fact]
    public async Task On_a_mount_with_cas_required_agent_entries_are_still_written()
    {
        await using var h = VaultHarness.Create(Server);
        Server.CasRequired = true;
        try
        {
            await h.Backend.PutAsync(Entry("alpha", "db", "v1"));
            await h.Backend.PutAsync(Entry("alpha", "db", "v2", version: 2));
            Assert.Equal("v2", Text(await h.Backend.GetAsync(new EntryKey("alpha", "db"))));
        }
        finally
        {
            Server.CasRequired = false;
        }
    }

    [Fact]
    public async Task A_custom_mount_holds_the_entries()
    {
        Server.AddMount("kv-agents");
        await using var h = VaultHarness.Create(Server, o => o.Mount = "kv-agents");
        await h.Backend.PutAsync(Entry("alpha", "db", "v"));
        Assert.Contains($"{h.RootPath}/agents/alpha/db", Server.Keys("kv-agents"));
        Assert.DoesNotContain($"{h.RootPath}/agents/alpha/db", Server.Keys());
    }

    [Fact]
    public async Task A_mount_that_is_not_there_is_reported_unavailable_with_the_path()
    {
        await using var h = VaultHarness.Create(Server, o => o.Mount = "no-such-mount");
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => h.Backend.PutAsync(Entry("alpha", "db", "v")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Contains("no-such-mount/data/", ex.Message, StringComparison.Ordinal);
    }
}
