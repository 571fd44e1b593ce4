using AgentScope.Backends;
using AgentScope.Testing;
using AgentScope.Testing.Emulators.AzureKeyVault;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>The shared backend conformance suite, against the real Key Vault SDK and a fresh emulated vault per test.</summary>
public sealed class AzureKeyVaultConformanceTests : SecretBackendConformanceTests
{
    private KeyVaultEmulator? _vault;

    protected override async Task<ISecretBackend> CreateBackendAsync()
    {
        _vault = await KeyVaultEmulator.StartAsync();
        return new AzureKeyVaultBackend(_vault.CreateOptions());
    }

    protected override async Task DisposeBackendAsync(ISecretBackend backend)
    {
        if (_vault is not null)
        {
            Assert.Empty(_vault.Bugs);
            await _vault.DisposeAsync();
        }
    }
}
