using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentScope.Providers.Local.Tests;

public sealed class LocalStoreOptionsTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void The_constructor_refuses_an_empty_path(string path)
    {
        var ex = Assert.Throws<ArgumentException>(() => new LocalSecretBackend(new LocalStoreOptions { Path = path }));
        Assert.Contains("Path is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_constructor_refuses_other_unusable_options()
    {
        Assert.Throws<ArgumentException>(() => new LocalSecretBackend(new LocalStoreOptions { Path = _store.DbPath, BusyTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentException>(() => new LocalSecretBackend(new LocalStoreOptions { Path = _store.DbPath, MaxReadConnections = 0 }));
        Assert.Throws<ArgumentNullException>(() => new LocalSecretBackend(null!));
    }

    [Fact]
    public void AddLocalStore_with_no_path_fails_with_a_clear_options_error()
    {
        using var provider = new ServiceCollection().AddLocalStore(_ => { }).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ISecretBackend>());
        Assert.Contains("LocalStoreOptions.Path is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLocalStore_registers_one_singleton_backend_on_the_configured_file()
    {
        var provider = new ServiceCollection().AddLocalStore(o =>
        {
            o.Path = _store.DbPath;
            o.BusyTimeout = TimeSpan.FromSeconds(2);
        }).BuildServiceProvider();

        var backend = provider.GetRequiredService<ISecretBackend>();
        Assert.Same(backend, provider.GetRequiredService<ISecretBackend>());
        var local = Assert.IsType<LocalSecretBackend>(backend);
        Assert.Same(local, provider.GetRequiredService<LocalSecretBackend>());
        Assert.Equal(Path.GetFullPath(_store.DbPath), local.DatabasePath);

        await backend.PutAsync(new BackendEntry(
            new EntryMetadata(new EntryKey("alpha", "x"), SecretKind.Generic, 1, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, null, true), [42]));
        await provider.DisposeAsync(); // disposes the backend, closing the file
        await Assert.ThrowsAsync<ObjectDisposedException>(() => backend.GetAsync(new EntryKey("alpha", "x")).AsTask());
    }
}
