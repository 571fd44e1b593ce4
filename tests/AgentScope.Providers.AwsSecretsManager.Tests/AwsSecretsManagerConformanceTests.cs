using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Providers.AwsSecretsManager.Tests;

/// <summary>The shared conformance suite over real HTTP against the test server, with the default settings (forced deletes).</summary>
public sealed class AwsSecretsManagerConformanceTests : SecretBackendConformanceTests
{
    private TestBackend? _fixture;

    protected override async Task<ISecretBackend> CreateBackendAsync()
    {
        _fixture = await TestBackend.StartAsync();
        return _fixture.Backend;
    }

    protected override async Task DisposeBackendAsync(ISecretBackend backend)
    {
        // Whatever a test did, every request it made carried a valid signature.
        Assert.Equal(0, _fixture!.Server.SignatureFailures);
        await _fixture.DisposeAsync();
    }
}

/// <summary>
/// The same suite with a recovery window (deletes are scheduled, a re-store restores and overwrites) and with ListSecrets
/// pages that the server filters after cutting them (short and empty pages).
/// </summary>
public sealed class AwsSecretsManagerRecoveryWindowConformanceTests : SecretBackendConformanceTests
{
    private TestBackend? _fixture;

    protected override async Task<ISecretBackend> CreateBackendAsync()
    {
        _fixture = await TestBackend.StartAsync(o => o.RecoveryWindowDays = 7, s => s.SparsePages = true);
        return _fixture.Backend;
    }

    protected override async Task DisposeBackendAsync(ISecretBackend backend)
    {
        Assert.Equal(0, _fixture!.Server.SignatureFailures);
        await _fixture.DisposeAsync();
    }
}
