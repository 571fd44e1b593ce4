using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using AgentScope.Backends;
using AgentScope.Testing.Emulators.AzureKeyVault;
using Azure.Security.KeyVault.Secrets;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>What the Azure provider does beyond the shared suite: Key Vault's own failure modes, soft delete, enumeration.</summary>
public sealed class AzureKeyVaultBackendTests : IAsyncLifetime
{
    private const string Sentinel = "sk_live_SENTINEL_4f9a1c";
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private KeyVaultEmulator _vault = null!;

    public async Task InitializeAsync() => _vault = await KeyVaultEmulator.StartAsync();

    public async Task DisposeAsync()
    {
        Assert.Empty(_vault.Bugs);
        await _vault.DisposeAsync();
    }

    private AzureKeyVaultBackend Backend(Action<AzureKeyVaultOptions>? configure = null, StubTokenCredential? credential = null)
    {
        var options = _vault.CreateOptions(credential);
        configure?.Invoke(options);
        return new AzureKeyVaultBackend(options);
    }

    private static BackendEntry Entry(string ns, string label, string value, long version = 1, bool encrypted = false) =>
        new(new EntryMetadata(new EntryKey(ns, label), SecretKind.Generic, version, T0, T0, null, encrypted), Encoding.UTF8.GetBytes(value));

    private static async Task<List<T>> ToList<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private int Count(string operation, int? status = null) => _vault.Requests.Count(r => r.Operation == operation && (status is null || r.Status == status));

    [Fact]
    public async Task The_first_call_answers_the_bearer_challenge_with_a_vault_scoped_token()
    {
        var credential = new StubTokenCredential(KeyVaultEmulator.AcceptedToken);
        var backend = Backend(credential: credential);
        await backend.PutAsync(Entry("alpha", "k", "v"));

        var request = Assert.Single(credential.Requests.DistinctBy(r => string.Join(" ", r.Scopes)));
        Assert.Equal(["https://vault.azure.net/.default"], request.Scopes);
        Assert.Equal(KeyVaultEmulator.TenantId, request.TenantId);
        Assert.NotEmpty(_vault.ApiVersions);
        Assert.Equal(1, Count("SetSecret", 200));
    }

    [Fact]
    public async Task Entries_are_stored_under_hashed_names_with_their_coordinate_in_at_most_15_tags()
    {
        var backend = Backend();
        await backend.PutAsync(Entry("alpha", "Stripe.Key_1", "sk_test"));
        var raw = (await _vault.CreateClient().GetSecretAsync(backend.NameOf(new EntryKey("alpha", "Stripe.Key_1")))).Value;

        Assert.Matches("^agentscope-[a-z2-7]{52}$", raw.Name);
        Assert.Equal("sk_test", raw.Value);
        Assert.Equal(ValueCodec.TextContentType, raw.Properties.ContentType);
        Assert.InRange(raw.Properties.Tags.Count, 1, 15);
        Assert.Equal("alpha", raw.Properties.Tags[EntryTags.Namespace]);
        Assert.Equal("Stripe.Key_1", raw.Properties.Tags[EntryTags.Label]);
    }

    [Fact]
    public async Task Ciphertext_of_the_declared_maximum_size_fits_the_vault_as_base64()
    {
        var backend = Backend();
        var bytes = RandomNumberGenerator.GetBytes(backend.Capabilities.MaxValueBytes);
        var entry = new BackendEntry(new EntryMetadata(new EntryKey("alpha", "cipher"), SecretKind.Generic, 1, T0, T0, null, Encrypted: true), bytes);
        await backend.PutAsync(entry);

        var raw = (await _vault.CreateClient().GetSecretAsync(backend.NameOf(entry.Metadata.Key))).Value;
        Assert.Equal(KeyVaultEmulator.MaxValueChars, raw.Value.Length);
        Assert.Equal(ValueCodec.Base64ContentType, raw.Properties.ContentType);
        Assert.Equal(bytes, (await backend.GetAsync(entry.Metadata.Key))!.Value);
    }

    [Fact]
    public async Task Plaintext_bytes_that_are_not_utf8_still_round_trip()
    {
        var backend = Backend();
        byte[] bytes = [0xff, 0xfe, 0x00, 0x41, 0xc3];
        var entry = new BackendEntry(new EntryMetadata(new EntryKey("alpha", "odd"), SecretKind.Generic, 1, T0, T0, null, Encrypted: false), bytes);
        await backend.PutAsync(entry);
        Assert.Equal(bytes, (await backend.GetAsync(entry.Metadata.Key))!.Value);
    }

    [Fact]
    public async Task Throttling_with_retry_after_is_retried_by_the_pipeline_until_it_succeeds()
    {
        var backend = Backend();
        _vault.Faults.FailNext(2, 429, retryAfterSeconds: 1, when: r => r.Operation == "SetSecret");
        var clock = Stopwatch.StartNew();

        await backend.PutAsync(Entry("alpha", "k", "v"));

        Assert.Equal(2, Count("SetSecret", 429));
        Assert.Equal(1, Count("SetSecret", 200));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.8), $"Retry-After was not honoured: {clock.Elapsed}");
        Assert.Equal("v", Encoding.UTF8.GetString((await backend.GetAsync(new EntryKey("alpha", "k")))!.Value));
    }

    [Fact]
    public async Task Server_errors_are_retried_by_the_pipeline_until_it_succeeds()
    {
        var backend = Backend();
        await backend.PutAsync(Entry("alpha", "k", "v"));
        _vault.Faults.FailNext(1, 500, when: r => r.Operation == "GetSecret");
        _vault.Faults.FailNext(1, 503, when: r => r.Operation == "GetSecret");

        Assert.NotNull(await backend.GetAsync(new EntryKey("alpha", "k")));
        Assert.Equal(3, Count("GetSecret"));
    }

    [Fact]
    public async Task Exhausted_throttling_surfaces_as_backend_unavailable_with_the_servers_retry_after()
    {
        var backend = Backend(o => o.Retry.MaxRetries = 1);
        _vault.Faults.FailNext(100, 429, retryAfterSeconds: 1);

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.PutAsync(Entry("alpha", "k", Sentinel)).AsTask());

        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), ex.RetryAfter);
        Assert.Equal(2, Count("SetSecret", 429));
        Assert.DoesNotContain(Sentinel, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exhausted_server_errors_surface_as_backend_unavailable_on_every_operation()
    {
        var backend = Backend(o => o.Retry.MaxRetries = 2);
        _vault.Faults.FailNext(1000, 503);

        Assert.Equal(ErrorKind.BackendUnavailable, (await Assert.ThrowsAsync<AgentScopeException>(() => backend.GetAsync(new EntryKey("alpha", "k")).AsTask())).Kind);
        Assert.Equal(ErrorKind.BackendUnavailable, (await Assert.ThrowsAsync<AgentScopeException>(() => backend.DeleteAsync(new EntryKey("alpha", "k")).AsTask())).Kind);
        Assert.Equal(ErrorKind.BackendUnavailable, (await Assert.ThrowsAsync<AgentScopeException>(() => ToList(backend.ListAllAsync()))).Kind);
        Assert.Equal(ErrorKind.BackendUnavailable, (await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask())).Kind);
        Assert.Equal(3, Count("GetSecret", 503));
    }

    [Fact]
    public async Task An_unreachable_vault_is_backend_unavailable()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var deadPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        var options = _vault.CreateOptions();
        options.VaultUri = new Uri($"https://127.0.0.1:{deadPort}/");
        options.Retry.MaxRetries = 1;

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => new AzureKeyVaultBackend(options).GetAsync(new EntryKey("alpha", "k")).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
    }

    [Theory]
    [InlineData("Microsoft.KeyVault/vaults/secrets/getSecret/action", "get")]
    [InlineData("Microsoft.KeyVault/vaults/secrets/setSecret/action", "put")]
    [InlineData("Microsoft.KeyVault/vaults/secrets/delete", "delete")]
    [InlineData("Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list")]
    [InlineData("Microsoft.KeyVault/vaults/secrets/readMetadata/action", "health")]
    public async Task A_missing_rbac_data_action_is_backend_permission_naming_it_and_the_role(string dataAction, string operation)
    {
        var backend = Backend();
        await backend.PutAsync(Entry("alpha", "k", "v"));
        _vault.Faults.Forbid(dataAction);

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => operation switch
        {
            "get" => backend.GetAsync(new EntryKey("alpha", "k")).AsTask(),
            "put" => backend.PutAsync(Entry("alpha", "k", Sentinel)).AsTask(),
            "delete" => backend.DeleteAsync(new EntryKey("alpha", "k")).AsTask(),
            "list" => ToList(backend.ListAsync("alpha")),
            _ => backend.CheckHealthAsync().AsTask(),
        });

        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains(dataAction, ex.Message, StringComparison.Ordinal);
        Assert.Contains("Key Vault Secrets Officer", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Sentinel, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_credential_that_cannot_get_a_token_is_backend_permission()
    {
        var backend = Backend(credential: new StubTokenCredential(KeyVaultEmulator.AcceptedToken) { FailWith = "no managed identity endpoint found" });
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("token", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_the_vault_rejects_is_backend_permission_and_never_shown()
    {
        const string token = "eyJ-not-the-right-token-Zm9v";
        var backend = Backend(credential: new StubTokenCredential(token));
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.PutAsync(Entry("alpha", "k", Sentinel)).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
        Assert.Contains("401", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Sentinel, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_never_appear_in_exceptions()
    {
        var backend = Backend(o => o.Retry.MaxRetries = 0);
        var big = Sentinel + new string('x', backend.Capabilities.MaxValueBytes);
        var tooLarge = await Assert.ThrowsAsync<AgentScopeException>(() => backend.PutAsync(Entry("alpha", "big", big)).AsTask());
        Assert.Equal(ErrorKind.ValueTooLarge, tooLarge.Kind);
        Assert.Equal(0, Count("SetSecret")); // refused before calling the vault

        _vault.Faults.FailNext(1, 500);
        var failed = await Assert.ThrowsAsync<AgentScopeException>(() => backend.PutAsync(Entry("alpha", "k", Sentinel)).AsTask());

        foreach (var ex in new[] { tooLarge, failed })
        {
            Assert.DoesNotContain(Sentinel, ex.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(KeyVaultEmulator.AcceptedToken, ex.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Delete_waits_for_the_soft_delete_then_purges_so_nothing_is_left()
    {
        _vault.DeletionDelay = TimeSpan.FromMilliseconds(300);
        var backend = Backend();
        await backend.PutAsync(Entry("alpha", "gone", "x"));

        Assert.True(await backend.DeleteAsync(new EntryKey("alpha", "gone")));

        Assert.Empty(_vault.LiveNames());
        Assert.Empty(_vault.DeletedNames());
        Assert.True(Count("GetDeletedSecret", 404) >= 1, "the deletion was asynchronous, so the operation polled");
        Assert.Equal(0, Count("PurgeDeletedSecret", 409)); // never purged too early
        Assert.Equal(1, Count("PurgeDeletedSecret", 204));
    }

    [Fact]
    public async Task Delete_works_on_a_vault_without_soft_delete()
    {
        _vault.SoftDelete = false;
        var backend = Backend();
        await backend.PutAsync(Entry("alpha", "gone", "x"));
        Assert.True(await backend.DeleteAsync(new EntryKey("alpha", "gone")));
        Assert.Null(await backend.GetAsync(new EntryKey("alpha", "gone")));
        Assert.Equal(0, Count("PurgeDeletedSecret"));
    }

    [Fact]
    public async Task With_purge_protection_delete_still_deletes_and_a_rewrite_recovers_then_overwrites()
    {
        _vault.PurgeProtection = true;
        var backend = Backend();
        var key = new EntryKey("alpha", "kept");
        await backend.PutAsync(Entry("alpha", "kept", "first"));

        Assert.True(await backend.DeleteAsync(key));
        Assert.Null(await backend.GetAsync(key));
        Assert.Empty(await ToList(backend.ListAllAsync()));
        Assert.Single(_vault.DeletedNames()); // retained by the vault; crypto-shredding covers it

        await backend.PutAsync(Entry("alpha", "kept", "second", version: 2));
        var got = await backend.GetAsync(key);
        Assert.Equal("second", Encoding.UTF8.GetString(got!.Value));
        Assert.Equal(2, got.Metadata.Version);
        Assert.Equal(1, Count("RecoverDeletedSecret", 200));
    }

    [Fact]
    public async Task Writing_a_label_whose_secret_was_soft_deleted_elsewhere_purges_it_and_succeeds()
    {
        var backend = Backend();
        var key = new EntryKey("alpha", "again");
        await backend.PutAsync(Entry("alpha", "again", "first"));
        var operation = await _vault.CreateClient().StartDeleteSecretAsync(backend.NameOf(key));
        await operation.WaitForCompletionAsync(TimeSpan.FromMilliseconds(10), default);

        await backend.PutAsync(Entry("alpha", "again", "second"));

        Assert.Equal("second", Encoding.UTF8.GetString((await backend.GetAsync(key))!.Value));
        Assert.True(Count("SetSecret", 409) >= 1);
        Assert.Equal(1, Count("PurgeDeletedSecret", 204));
        Assert.Empty(_vault.DeletedNames());
    }

    [Fact]
    public async Task Writing_while_the_secret_is_still_being_deleted_waits_and_succeeds()
    {
        _vault.DeletionDelay = TimeSpan.FromMilliseconds(200);
        _vault.PurgeDelay = TimeSpan.FromMilliseconds(200);
        var backend = Backend();
        var key = new EntryKey("alpha", "busy");
        await backend.PutAsync(Entry("alpha", "busy", "first"));
        await _vault.CreateClient().StartDeleteSecretAsync(backend.NameOf(key)); // not awaited to completion

        await backend.PutAsync(Entry("alpha", "busy", "second"));

        Assert.Equal("second", Encoding.UTF8.GetString((await backend.GetAsync(key))!.Value));
        Assert.Contains(_vault.Requests, r => r.Operation == "SetSecret" && r.Status == 409);
    }

    [Fact]
    public async Task Enumeration_skips_secrets_that_are_not_this_installations()
    {
        var backend = Backend();
        var client = _vault.CreateClient();
        await backend.PutAsync(Entry("alpha", "mine", "v"));
        await backend.PutAsync(Entry(EntryKey.RegistryNamespace, "agent.alpha", "{}"));

        await client.SetSecretAsync("db-password", "hunter2");                      // another application's secret
        var partial = new KeyVaultSecret("agentscope-" + new string('a', 52), "x");  // our prefix, incomplete tags
        partial.Properties.Tags[EntryTags.Managed] = "1";
        await client.SetSecretAsync(partial);
        var other = Backend(o => o.NamePrefix = "other");                            // another installation in the same vault
        await other.PutAsync(Entry("alpha", "theirs", "v"));
        var copied = (await client.GetSecretAsync(backend.NameOf(new EntryKey("alpha", "mine")))).Value;
        var forged = new KeyVaultSecret("agentscope-" + new string('b', 52), "x");   // tags copied onto a name they do not map to
        foreach (var (k, v) in copied.Properties.Tags)
        {
            forged.Properties.Tags[k] = v;
        }

        await client.SetSecretAsync(forged);

        var all = (await ToList(backend.ListAllAsync())).Select(m => m.Key).ToHashSet();
        Assert.Equal([new EntryKey(EntryKey.RegistryNamespace, "agent.alpha"), new EntryKey("alpha", "mine")], all.OrderBy(k => k.Namespace, StringComparer.Ordinal));
        Assert.Equal([new EntryKey("alpha", "mine")], (await ToList(backend.ListAsync("alpha"))).Select(m => m.Key));
        Assert.Equal([new EntryKey("alpha", "theirs")], (await ToList(other.ListAllAsync())).Select(m => m.Key));
    }

    [Fact]
    public async Task Enumeration_costs_one_request_per_25_secrets_of_the_whole_vault()
    {
        var backend = Backend();
        var client = _vault.CreateClient();
        for (var i = 0; i < 70; i++)
        {
            await client.SetSecretAsync($"unrelated-{i:D3}", "v");
        }

        await backend.PutAsync(Entry("alpha", "a", "v"));
        await backend.PutAsync(Entry("beta", "b", "v"));
        var before = Count("GetSecrets");

        var alpha = await ToList(backend.ListAsync("alpha"));

        Assert.Single(alpha);
        Assert.False(backend.Capabilities.ServerSideFiltering);
        Assert.Equal(3, Count("GetSecrets") - before); // 72 secrets in the vault: pages of 25, 25 and 22
    }

    [Fact]
    public async Task A_secret_at_our_name_without_our_tags_reads_as_absent()
    {
        var backend = Backend();
        var key = new EntryKey("alpha", "k");
        await _vault.CreateClient().SetSecretAsync(backend.NameOf(key), "planted");
        Assert.Null(await backend.GetAsync(key));
    }

    [Fact]
    public async Task A_disabled_secret_is_reported_as_a_permission_problem()
    {
        var backend = Backend();
        var key = new EntryKey("alpha", "off");
        await backend.PutAsync(Entry("alpha", "off", "v"));
        _vault.SetEnabled(backend.NameOf(key), false);
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => backend.GetAsync(key).AsTask());
        Assert.Equal(ErrorKind.BackendPermission, ex.Kind);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_turned_into_an_error()
    {
        _vault.Faults.Latency = TimeSpan.FromSeconds(5);
        var backend = Backend();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backend.GetAsync(new EntryKey("alpha", "k"), cts.Token).AsTask());
    }

    [Fact]
    public async Task Capabilities_declare_the_limits()
    {
        var backend = Backend(o => o.MaxConcurrency = 12);
        Assert.Equal("AzureKeyVault", backend.Capabilities.Name);
        Assert.Equal(19_200, backend.Capabilities.MaxValueBytes);
        Assert.False(backend.Capabilities.ServerSideFiltering);
        Assert.False(backend.Capabilities.RequiresEncryption);
        Assert.Equal(12, backend.Capabilities.MaxConcurrency);
        await backend.CheckHealthAsync();
    }
}
