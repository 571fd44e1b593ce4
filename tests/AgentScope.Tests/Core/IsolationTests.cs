using FsCheck;
using FsCheck.Fluent;
using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Invariant 2: an agent's key never reaches another agent's entries, whatever the label.</summary>
public sealed class IsolationTests
{
    private static readonly Dictionary<string, string> AValues = new(StringComparer.Ordinal)
    {
        ["x"] = "a-secret-lower-x",
        ["X"] = "a-secret-upper-x",
        ["stripe-key"] = "a-secret-stripe",
        ["agent.b"] = "a-secret-agent-dot-b",
        [new string('x', 128)] = "a-secret-longest",
    };

    public static TheoryData<string?> HostileLabels => new()
    {
        "../a/x", "a/x", "/a/x", "..\\a\\x", "a\\x", "../../a/x", "./x", "..", ".", "../_registry/agent.a", "_registry/agent.a",
        "%2e%2e%2f", "%2e%2e%2fa%2fx", "..%2fa%2fx", "a%2fx", "%78", "x%00", "&#120;", "x;a", "x?a=1", "x#a", "a:x",
        "\uff58", "\uff38", "\u0445", "\u0425", "\u0430", "\u0430/x", "x\u200d", "\u200dx", "x\u200b", "x\ufeff", "x\u0301",
        "x\0", "x\0../a/x", "\0", "x ", " x", "x\n", "x\r\n", "x\t", "\u2215a\u2215x", "a\uff0fx", "a\u2044x",
        new string('x', 129), new string('x', 10_000), "", null,
    };

    private static async Task<(TestHost Host, AgentVault A, AgentVault B)> TwoAgentsAsync(bool clientSideEncryption = false)
    {
        var host = new TestHost(configure: o => o.ClientSideEncryption = clientSideEncryption);
        var (a, _) = await host.AddAgentAsync("a");
        var (b, _) = await host.AddAgentAsync("b");
        foreach (var (label, value) in AValues)
        {
            await a.StoreAsync(label, new SecretValue(value));
        }

        await a.StoreAsync("otp", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });
        return (host, a, b);
    }

    private static async Task AssertANotTouchedAsync(TestHost host, AgentVault a)
    {
        foreach (var (label, value) in AValues)
        {
            var got = await a.GetAsync(label);
            Assert.Equal(value, got.Value.Reveal());
            Assert.Equal(1, got.Version);
        }

        Assert.Equal(AValues.Keys.Append("otp").Order(StringComparer.Ordinal), (await a.ListAsync()).Select(i => i.Label));
        var record = await ((Agents.AgentRegistry)host.Services.GetService(typeof(Agents.AgentRegistry))!).GetRecordAsync("a", default);
        Assert.Equal(AgentStatus.Active, record!.Status);
        Assert.NotNull(record.WrappedDataKey);
    }

    [Theory]
    [MemberData(nameof(HostileLabels))]
    public async Task Another_agent_cannot_reach_an_agents_entries_through_a_hostile_label(string? label)
    {
        var (host, a, b) = await TwoAgentsAsync();
        await using var _ = host;
        ErrorKind[] refused = Names.IsValidLabel(label) ? [ErrorKind.NotFound] : [ErrorKind.InvalidInput];

        await Expect.FailsAsync(refused, () => b.GetAsync(label!));
        await Expect.FailsAsync(refused, () => b.GetTotpAsync(label!));
        await Expect.FailsAsync(refused, () => b.DeleteAsync(label!));
        if (!Names.IsValidLabel(label))
        {
            await Expect.FailsAsync(ErrorKind.InvalidInput, () => b.StoreAsync(label!, new SecretValue("from-b")));
        }

        Assert.Empty(await b.ListAsync());
        await AssertANotTouchedAsync(host, a);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_same_label_in_two_agents_is_two_entries(bool clientSideEncryption)
    {
        var (host, a, b) = await TwoAgentsAsync(clientSideEncryption);
        await using var _ = host;

        foreach (var label in AValues.Keys)
        {
            await Expect.FailsAsync(ErrorKind.NotFound, () => b.GetAsync(label));
            await Expect.FailsAsync(ErrorKind.NotFound, () => b.DeleteAsync(label));
            var stored = await b.StoreAsync(label, new SecretValue("b-own-" + label));
            Assert.True(stored.Created);
            Assert.Equal(1, stored.Version);
            Assert.Equal("b-own-" + label, (await b.GetAsync(label)).Value.Reveal());
        }

        await Expect.FailsAsync(ErrorKind.NotFound, () => b.GetTotpAsync("otp"));
        Assert.Equal(AValues.Keys.Order(StringComparer.Ordinal), (await b.ListAsync()).Select(i => i.Label));
        await AssertANotTouchedAsync(host, a);

        foreach (var label in AValues.Keys)
        {
            await b.DeleteAsync(label);
        }

        Assert.Empty(await b.ListAsync());
        await AssertANotTouchedAsync(host, a);
    }

    [Fact]
    public async Task Labels_differing_only_by_case_are_different_labels_of_each_agent()
    {
        var (host, a, b) = await TwoAgentsAsync();
        await using var _ = host;

        Assert.Equal("a-secret-lower-x", (await a.GetAsync("x")).Value.Reveal());
        Assert.Equal("a-secret-upper-x", (await a.GetAsync("X")).Value.Reveal());
        await b.StoreAsync("X", new SecretValue("b-upper"));
        await Expect.FailsAsync(ErrorKind.NotFound, () => b.GetAsync("x"));
        Assert.Equal("b-upper", (await b.GetAsync("X")).Value.Reveal());
        await AssertANotTouchedAsync(host, a);
    }

    [Fact]
    public async Task A_label_named_like_a_registry_record_stays_in_the_agents_own_namespace()
    {
        var (host, a, b) = await TwoAgentsAsync();
        await using var _ = host;

        await b.StoreAsync("agent.a", new SecretValue("{\"id\":\"a\",\"status\":\"Revoked\"}"));
        await b.StoreAsync("admin-keys", new SecretValue("{}"));

        Assert.Contains(await host.ListAllAsync(), m => m.Key == new EntryKey("b", "agent.a"));
        await AssertANotTouchedAsync(host, a);
        Assert.Equal("a-secret-agent-dot-b", (await a.GetAsync("agent.b")).Value.Reveal());
        Assert.NotNull(await host.Authenticator.LocalAdmin().GetAgentAsync("b"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_backend_answering_with_another_agents_row_does_not_leak_it(bool clientSideEncryption)
    {
        var lying = new LyingBackend(new InMemorySecretBackend(), from: new EntryKey("b", "x"), to: new EntryKey("a", "x"));
        await using var host = new TestHost(lying, configure: o => o.ClientSideEncryption = clientSideEncryption);
        var (a, _) = await host.AddAgentAsync("a");
        var (b, _) = await host.AddAgentAsync("b");
        await a.StoreAsync("x", new SecretValue("a-secret"));

        await Expect.FailsAsync(ErrorKind.NotFound, () => b.GetAsync("x"));
        Assert.Equal("a-secret", (await a.GetAsync("x")).Value.Reveal());
    }

    [Fact]
    public async Task For_arbitrary_labels_another_agent_never_gets_an_agents_value_and_fails_only_with_typed_errors()
    {
        var (host, a, b) = await TwoAgentsAsync();
        await using var _ = host;
        var aValues = AValues.Values.Append("JBSWY3DPEHPK3PXP").ToHashSet(StringComparer.Ordinal);
        var near = Gen.Elements(AValues.Keys.Append("otp").ToArray()).SelectMany(l => Gen.Elements(
            l, "../a/" + l, "a/" + l, l.ToUpperInvariant(), l + "\u200d", "\uff58" + l, l + "\0", "%2e%2e%2f" + l, l.Replace('x', '\u0445'), l + "x"));
        var labels = Gen.Frequency(
            (3, ArbMap.Default.GeneratorFor<string>()),
            (3, near),
            (1, Gen.Constant<string>(null!)),
            (1, ArbMap.Default.GeneratorFor<char>().ArrayOf().Select(c => new string(c))));

        await Task.Run(() => Prop.ForAll(labels.ToArbitrary(), label =>
            {
                var valid = Names.IsValidLabel(label);
                foreach (var op in new Func<Task<string?>>[]
                {
                    async () => (await b.GetAsync(label)).Value.Reveal(),
                    async () => (await b.GetTotpAsync(label)).Code,
                    async () => { await b.DeleteAsync(label); return null; },
                    async () => { await b.StoreAsync(label, new SecretValue("from-b")); return (await b.GetAsync(label)).Value.Reveal(); },
                    async () => { await b.DeleteAsync(label); return null; },
                })
                {
                    try
                    {
                        var got = op().GetAwaiter().GetResult();
                        if (got is not null && aValues.Contains(got))
                        {
                            return false;
                        }
                    }
                    catch (AgentScopeException e) when (valid ? e.Kind is ErrorKind.NotFound or ErrorKind.InvalidInput : e.Kind == ErrorKind.InvalidInput)
                    {
                    }
                }

                return true;
            })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300)));

        Assert.Empty(await b.ListAsync());
        await AssertANotTouchedAsync(host, a);
    }

    private sealed class LyingBackend(ISecretBackend inner, EntryKey from, EntryKey to) : ISecretBackend
    {
        public BackendCapabilities Capabilities => inner.Capabilities;

        public ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default) =>
            inner.GetAsync(key == from ? to : key, cancellationToken);

        public ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default) => inner.PutAsync(entry, cancellationToken);

        public ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

        public IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default) => inner.ListAsync(ns, cancellationToken);

        public IAsyncEnumerable<EntryMetadata> ListAllAsync(CancellationToken cancellationToken = default) => inner.ListAllAsync(cancellationToken);

        public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default) => inner.CheckHealthAsync(cancellationToken);
    }
}
