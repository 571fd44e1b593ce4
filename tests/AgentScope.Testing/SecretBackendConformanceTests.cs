using System.Text;
using AgentScope.Backends;
using Xunit;

namespace AgentScope.Testing;

/// <summary>
/// What every provider must do the same way. Subclass once per provider; a test that cannot apply is overridden
/// with a comment saying why (the model is ConfigurationProviderTestBase in dotnet/runtime).
/// </summary>
public abstract class SecretBackendConformanceTests : IAsyncLifetime
{
    private ISecretBackend? _backend;

    /// <summary>A fresh, empty backend for one test.</summary>
    protected abstract Task<ISecretBackend> CreateBackendAsync();

    /// <summary>Releases what <see cref="CreateBackendAsync"/> made.</summary>
    protected virtual Task DisposeBackendAsync(ISecretBackend backend) => (backend as IAsyncDisposable)?.DisposeAsync().AsTask() ?? Task.CompletedTask;

    protected ISecretBackend Backend => _backend ?? throw new InvalidOperationException("not initialised");

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await DisposeBackendAsync(_backend);
        }
    }

    protected static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    protected static BackendEntry Entry(string ns, string label, string value, long version = 1, SecretKind kind = SecretKind.Generic,
        DateTimeOffset? expiresAt = null, bool encrypted = false) =>
        new(new EntryMetadata(new EntryKey(ns, label), kind, version, T0, T0.AddSeconds(version), expiresAt, encrypted), Encoding.UTF8.GetBytes(value));

    private static async Task<List<T>> ToList<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    [Fact]
    public virtual async Task A_stored_value_reads_back_with_its_metadata()
    {
        await Backend.PutAsync(Entry("alpha", "stripe-key", "sk_test_1", kind: SecretKind.Totp, expiresAt: T0.AddDays(1)));
        var got = await Backend.GetAsync(new EntryKey("alpha", "stripe-key"));
        Assert.NotNull(got);
        Assert.Equal("sk_test_1", Encoding.UTF8.GetString(got.Value));
        Assert.Equal(SecretKind.Totp, got.Metadata.Kind);
        Assert.Equal(1, got.Metadata.Version);
        Assert.Equal(T0, got.Metadata.CreatedAt);
        Assert.Equal(T0.AddSeconds(1), got.Metadata.UpdatedAt);
        Assert.Equal(T0.AddDays(1), got.Metadata.ExpiresAt);
        Assert.Equal(new EntryKey("alpha", "stripe-key"), got.Metadata.Key);
    }

    [Fact]
    public virtual async Task A_missing_entry_reads_as_null()
    {
        Assert.Null(await Backend.GetAsync(new EntryKey("alpha", "nothing-here")));
    }

    [Fact]
    public virtual async Task An_overwrite_replaces_the_value_and_version()
    {
        await Backend.PutAsync(Entry("alpha", "db", "one"));
        await Backend.PutAsync(Entry("alpha", "db", "two", version: 2));
        var got = await Backend.GetAsync(new EntryKey("alpha", "db"));
        Assert.Equal("two", Encoding.UTF8.GetString(got!.Value));
        Assert.Equal(2, got.Metadata.Version);
    }

    [Fact]
    public virtual async Task Labels_differing_only_by_case_are_distinct_entries()
    {
        await Backend.PutAsync(Entry("alpha", "Token", "upper"));
        await Backend.PutAsync(Entry("alpha", "token", "lower"));
        Assert.Equal("upper", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "Token")))!.Value));
        Assert.Equal("lower", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "token")))!.Value));
        var labels = (await ToList(Backend.ListAsync("alpha"))).Select(m => m.Key.Label).OrderBy(l => l, StringComparer.Ordinal);
        Assert.Equal(["Token", "token"], labels);
    }

    [Fact]
    public virtual async Task Every_character_of_the_label_grammar_round_trips()
    {
        var label = "A.b_c-9." + new string('x', Names.MaxLabelLength - 8);
        Assert.True(Names.IsValidLabel(label));
        await Backend.PutAsync(Entry("alpha", label, "v"));
        await Backend.PutAsync(Entry("alpha", "a.b", "dot"));
        await Backend.PutAsync(Entry("alpha", "a_b", "underscore"));
        await Backend.PutAsync(Entry("alpha", "a-b", "dash"));
        Assert.Equal("v", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", label)))!.Value));
        Assert.Equal("dot", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "a.b")))!.Value));
        Assert.Equal("underscore", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "a_b")))!.Value));
        Assert.Equal("dash", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "a-b")))!.Value));
        Assert.Equal(4, (await ToList(Backend.ListAsync("alpha"))).Count);
    }

    [Fact]
    public virtual async Task Namespaces_do_not_see_each_other()
    {
        await Backend.PutAsync(Entry("alpha", "shared-name", "a"));
        await Backend.PutAsync(Entry("alpha-2", "shared-name", "b"));
        await Backend.PutAsync(Entry("beta", "other", "c"));
        Assert.Equal("a", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "shared-name")))!.Value));
        Assert.Null(await Backend.GetAsync(new EntryKey("beta", "shared-name")));
        var alpha = await ToList(Backend.ListAsync("alpha"));
        Assert.Single(alpha);
        Assert.Equal(new EntryKey("alpha", "shared-name"), alpha[0].Key);
        Assert.Single(await ToList(Backend.ListAsync("alpha-2")));
    }

    [Fact]
    public virtual async Task Delete_removes_the_entry_and_reports_whether_it_existed()
    {
        await Backend.PutAsync(Entry("alpha", "gone", "x"));
        Assert.True(await Backend.DeleteAsync(new EntryKey("alpha", "gone")));
        Assert.Null(await Backend.GetAsync(new EntryKey("alpha", "gone")));
        Assert.False(await Backend.DeleteAsync(new EntryKey("alpha", "gone")));
        Assert.Empty(await ToList(Backend.ListAsync("alpha")));
    }

    [Fact]
    public virtual async Task A_deleted_label_can_be_stored_again()
    {
        await Backend.PutAsync(Entry("alpha", "again", "first"));
        await Backend.DeleteAsync(new EntryKey("alpha", "again"));
        await Backend.PutAsync(Entry("alpha", "again", "second"));
        Assert.Equal("second", Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "again")))!.Value));
    }

    [Fact]
    public virtual async Task List_all_finds_every_namespace_including_the_registry()
    {
        await Backend.PutAsync(Entry("alpha", "a1", "x"));
        await Backend.PutAsync(Entry("beta", "b1", "y"));
        await Backend.PutAsync(Entry(EntryKey.RegistryNamespace, "agent.alpha", "{}", kind: SecretKind.Registry));
        var all = (await ToList(Backend.ListAllAsync())).Select(m => m.Key).ToHashSet();
        Assert.Contains(new EntryKey("alpha", "a1"), all);
        Assert.Contains(new EntryKey("beta", "b1"), all);
        Assert.Contains(new EntryKey(EntryKey.RegistryNamespace, "agent.alpha"), all);
        Assert.Equal(3, all.Count);
    }

    [Fact]
    public virtual async Task Listing_returns_metadata_without_values()
    {
        await Backend.PutAsync(Entry("alpha", "m", "value", version: 3, kind: SecretKind.Totp));
        var m = Assert.Single(await ToList(Backend.ListAsync("alpha")));
        Assert.Equal(3, m.Version);
        Assert.Equal(SecretKind.Totp, m.Kind);
        Assert.DoesNotContain("value", m.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public virtual async Task Binary_ciphertext_round_trips_byte_for_byte()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var entry = new BackendEntry(new EntryMetadata(new EntryKey("alpha", "bin"), SecretKind.Generic, 1, T0, T0, null, Encrypted: true), bytes);
        await Backend.PutAsync(entry);
        var got = await Backend.GetAsync(new EntryKey("alpha", "bin"));
        Assert.Equal(bytes, got!.Value);
        Assert.True(got.Metadata.Encrypted);
    }

    [Fact]
    public virtual async Task Unicode_values_round_trip()
    {
        const string value = "pässwörd-🔑-\u00e9\u0301-\n\t\"quoted\"";
        await Backend.PutAsync(Entry("alpha", "unicode", value));
        Assert.Equal(value, Encoding.UTF8.GetString((await Backend.GetAsync(new EntryKey("alpha", "unicode")))!.Value));
    }

    [Fact]
    public virtual async Task A_value_over_the_declared_limit_is_refused_as_too_large()
    {
        var tooBig = new string('x', Backend.Capabilities.MaxValueBytes + 1);
        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => Backend.PutAsync(Entry("alpha", "big", tooBig)).AsTask());
        Assert.Equal(ErrorKind.ValueTooLarge, ex.Kind);
        Assert.Null(await Backend.GetAsync(new EntryKey("alpha", "big")));
    }

    [Fact]
    public virtual async Task A_value_at_the_declared_limit_is_accepted()
    {
        var atLimit = new string('y', Backend.Capabilities.MaxValueBytes);
        await Backend.PutAsync(Entry("alpha", "limit", atLimit));
        Assert.Equal(atLimit.Length, (await Backend.GetAsync(new EntryKey("alpha", "limit")))!.Value.Length);
    }

    [Fact]
    public virtual async Task Many_entries_are_all_enumerated()
    {
        const int n = 120; // past the first page of every paging backend under test
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, ct) => await Backend.PutAsync(Entry("bulk", $"label-{i:D4}", "v"), ct));
        var labels = (await ToList(Backend.ListAsync("bulk"))).Select(m => m.Key.Label).ToHashSet();
        Assert.Equal(n, labels.Count);
    }

    [Fact]
    public virtual async Task The_health_check_passes_on_a_working_backend()
    {
        await Backend.CheckHealthAsync();
        Assert.NotEmpty(Backend.Capabilities.Name);
    }
}
