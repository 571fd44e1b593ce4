using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

public sealed class InMemoryBackendConformanceTests : SecretBackendConformanceTests
{
    protected override Task<ISecretBackend> CreateBackendAsync() => Task.FromResult<ISecretBackend>(new InMemorySecretBackend());
}
