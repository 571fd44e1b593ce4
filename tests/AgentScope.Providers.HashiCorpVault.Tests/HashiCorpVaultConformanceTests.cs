using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Providers.HashiCorpVault.Tests;

/// <summary>The shared backend suite, over real HTTP against the Vault test server. Every test applies unchanged.</summary>
public sealed class HashiCorpVaultConformanceTests(VaultServerFixture fixture) : SecretBackendConformanceTests, IClassFixture<VaultServerFixture>
{
    private VaultHarness? _harness;

    protected override Task<ISecretBackend> CreateBackendAsync()
    {
        _harness = VaultHarness.Create(fixture.Server);
        return Task.FromResult(_harness.SecretBackend);
    }

    protected override async Task DisposeBackendAsync(ISecretBackend backend)
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }
}
