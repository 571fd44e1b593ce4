using AgentScope.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace AgentScope.Tests;

/// <summary>
/// Random sequences of operations by three agents, run against the real core over the in-memory backend and against a
/// dictionary model; after every step the outcome, and every namespace in the backend, match the model.
/// </summary>
public sealed class VaultModelTests
{
    private static readonly string[] AgentIds = ["a", "b", "c"];
    private static readonly string[] Labels = ["x", "X", "y", "a.b"];

    private abstract record Op;

    private sealed record Create(int Agent) : Op;

    private sealed record Revoke(int Agent) : Op;

    private sealed record Store(int Agent, string Label, string Value, bool Fresh) : Op;

    private sealed record Get(int Agent, string Label, bool Fresh) : Op;

    private sealed record Delete(int Agent, string Label, bool Fresh) : Op;

    private sealed record List(int Agent, bool Fresh) : Op;

    private enum Status
    {
        Absent,
        Active,
        Revoked,
    }

    private sealed class AgentModel(string id)
    {
        public readonly string Id = id;
        public Status Status;
        public readonly Dictionary<string, (string Value, long Version)> Entries = new(StringComparer.Ordinal);
        public string? Key;
        public AgentVault? Vault;
    }

    private static Gen<Op> Operations()
    {
        var agent = Gen.Choose(0, AgentIds.Length - 1);
        var label = Gen.Elements(Labels);
        var value = Gen.Choose(0, 4).Select(i => "value-" + i);
        var fresh = Gen.Elements(true, false);
        return Gen.Frequency(
            (2, agent.Select(a => (Op)new Create(a))),
            (1, agent.Select(a => (Op)new Revoke(a))),
            (6, from a in agent from l in label from v in value from f in fresh select (Op)new Store(a, l, v, f)),
            (5, from a in agent from l in label from f in fresh select (Op)new Get(a, l, f)),
            (2, from a in agent from l in label from f in fresh select (Op)new Delete(a, l, f)),
            (2, from a in agent from f in fresh select (Op)new List(a, f)));
    }

    [Fact]
    public async Task Random_operation_sequences_by_three_agents_match_a_dictionary_model_and_leave_no_orphans()
    {
        var sequences = Gen.Choose(0, 30).SelectMany(n => Operations().ListOf(n)).Select(ops => ops.ToArray());

        await Task.Run(() => Prop.ForAll(sequences.ToArbitrary(), ops =>
            {
                RunAsync(ops).GetAwaiter().GetResult();
                return true;
            })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(100)));
    }

    private static async Task RunAsync(Op[] ops)
    {
        await using var host = new TestHost();
        var model = AgentIds.Select(id => new AgentModel(id)).ToArray();

        for (var step = 0; step < ops.Length; step++)
        {
            var op = ops[step];
            var where = $"step {step} {op}";
            switch (op)
            {
                case Create(var i):
                {
                    var m = model[i];
                    if (m.Status == Status.Active)
                    {
                        await Expect.FailsAsync(ErrorKind.Conflict, () => host.Admin.CreateAgentAsync(AgentIds[i]));
                        break;
                    }

                    var created = await host.Admin.CreateAgentAsync(AgentIds[i]);
                    Assert.Equal(AgentStatus.Active, created.Agent.Status);
                    m.Status = Status.Active;
                    m.Key = created.ApiKey;
                    m.Vault = await host.Authenticator.AuthenticateAgentAsync(created.ApiKey);
                    m.Entries.Clear();
                    break;
                }

                case Revoke(var i):
                {
                    var m = model[i];
                    switch (m.Status)
                    {
                        case Status.Absent:
                            await Expect.FailsAsync(ErrorKind.NotFound, () => host.Admin.RevokeAsync(AgentIds[i]));
                            break;
                        case Status.Revoked:
                            await Expect.FailsAsync(ErrorKind.Conflict, () => host.Admin.RevokeAsync(AgentIds[i]));
                            break;
                        default:
                            Assert.Equal(m.Entries.Count, await host.Admin.RevokeAsync(AgentIds[i]));
                            m.Status = Status.Revoked;
                            m.Entries.Clear();
                            break;
                    }

                    break;
                }

                case Store(var i, var label, var value, var fresh):
                {
                    var m = model[i];
                    var result = await OutcomeAsync(host, m, fresh, v => v.StoreAsync(label, new SecretValue(value)));
                    if (m.Status == Status.Active)
                    {
                        var version = m.Entries.TryGetValue(label, out var old) ? old.Version + 1 : 1;
                        var stored = Assert.IsType<StoreResult>(result);
                        Assert.True(version == stored.Version, where);
                        Assert.True(version == 1 == stored.Created, where);
                        m.Entries[label] = (value, version);
                    }

                    break;
                }

                case Get(var i, var label, var fresh):
                {
                    var m = model[i];
                    var result = await OutcomeAsync(host, m, fresh, v => v.GetAsync(label), label);
                    if (m.Status == Status.Active && m.Entries.TryGetValue(label, out var expected))
                    {
                        var entry = Assert.IsType<SecretEntry>(result);
                        Assert.True(expected.Value == entry.Value.Reveal(), where);
                        Assert.True(expected.Version == entry.Version, where);
                    }

                    break;
                }

                case Delete(var i, var label, var fresh):
                {
                    var m = model[i];
                    await OutcomeAsync(host, m, fresh, async v =>
                    {
                        await v.DeleteAsync(label);
                        return true;
                    }, label);
                    m.Entries.Remove(label);
                    break;
                }

                case List(var i, var fresh):
                {
                    var m = model[i];
                    var result = await OutcomeAsync(host, m, fresh, v => v.ListAsync());
                    if (m.Status == Status.Active)
                    {
                        var listed = Assert.IsAssignableFrom<IReadOnlyList<SecretInfo>>(result);
                        Assert.True(m.Entries.Keys.Order(StringComparer.Ordinal).SequenceEqual(listed.Select(s => s.Label)), where);
                        Assert.True(m.Entries.Values.Select(e => e.Version).Order().SequenceEqual(listed.Select(s => s.Version).Order()), where);
                    }

                    break;
                }
            }

            await AssertBackendMatchesAsync(host, model, where);
        }

        var report = await host.Admin.SweepAsync();
        Assert.Equal(0, report.OrphansFound);
        Assert.Empty(report.RevokesFinished);
        await AssertBackendMatchesAsync(host, model, "after sweep");
    }

    // Runs one vault operation the way the model says the agent can reach its vault, and checks the typed failure when it cannot:
    // never created (unknown key), revoked (the key or the open vault), or not found.
    private static async Task<object?> OutcomeAsync<T>(TestHost host, AgentModel m, bool fresh, Func<AgentVault, Task<T>> act, string? label = null)
    {
        if (m.Status == Status.Absent)
        {
            await Expect.FailsAsync(ErrorKind.Unauthenticated,
                () => host.Authenticator.AuthenticateAgentAsync($"ask_{m.Id}_000000000000_never-issued"));
            return null;
        }

        if (m.Status == Status.Revoked)
        {
            await Expect.FailsAsync(ErrorKind.AgentRevoked, async () => await act(fresh ? await host.Authenticator.AuthenticateAgentAsync(m.Key) : m.Vault!));
            return null;
        }

        var vault = fresh ? await host.Authenticator.AuthenticateAgentAsync(m.Key) : m.Vault!;
        if (label is not null && !m.Entries.ContainsKey(label))
        {
            await Expect.FailsAsync(ErrorKind.NotFound, () => act(vault));
            return null;
        }

        return await act(vault);
    }

    private static async Task AssertBackendMatchesAsync(TestHost host, AgentModel[] model, string where)
    {
        var all = await host.ListAllAsync();
        for (var i = 0; i < AgentIds.Length; i++)
        {
            var stored = all.Where(e => e.Key.Namespace == AgentIds[i]).Select(e => (e.Key.Label, e.Version)).Order().ToList();
            var expected = model[i].Entries.Select(e => (e.Key, e.Value.Version)).Order().ToList();
            Assert.True(expected.SequenceEqual(stored), $"{where}: backend holds [{string.Join(", ", stored)}] for {AgentIds[i]}, model [{string.Join(", ", expected)}]");
        }

        Assert.All(all, e => Assert.True(e.Key.IsRegistry || AgentIds.Contains(e.Key.Namespace), where));
    }
}
