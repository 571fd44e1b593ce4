using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Providers.Local.Tests;

/// <summary>The shared backend conformance suite, on a fresh SQLite file per test.</summary>
public sealed class LocalBackendConformanceTests : SecretBackendConformanceTests
{
    private readonly TempStore _store = new();

    protected override Task<ISecretBackend> CreateBackendAsync() => Task.FromResult<ISecretBackend>(_store.Open());

    protected override async Task DisposeBackendAsync(ISecretBackend backend)
    {
        await base.DisposeBackendAsync(backend);
        _store.Dispose();
    }
}
