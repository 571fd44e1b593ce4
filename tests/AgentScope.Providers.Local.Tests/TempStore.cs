namespace AgentScope.Providers.Local.Tests;

/// <summary>A fresh directory under the temp folder for one test's database files, deleted with everything in it afterwards.</summary>
internal sealed class TempStore : IDisposable
{
    public TempStore() => Directory.CreateDirectory(DirectoryPath);

    public string DirectoryPath { get; } = Path.Combine(Path.GetTempPath(), "agentscope-local-tests", Guid.NewGuid().ToString("N"));

    public string DbPath => Path.Combine(DirectoryPath, "store.db");

    public LocalStoreOptions Options(TimeSpan? busyTimeout = null) => new()
    {
        Path = DbPath,
        BusyTimeout = busyTimeout ?? LocalStoreOptions.DefaultBusyTimeout,
    };

    public LocalSecretBackend Open(TimeSpan? busyTimeout = null) => new(Options(busyTimeout));

    public void Dispose()
    {
        try
        {
            Directory.Delete(DirectoryPath, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
