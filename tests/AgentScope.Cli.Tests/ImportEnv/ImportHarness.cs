using System.Collections.Concurrent;
using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Cli.Tests.ImportEnv;

/// <summary>
/// An in-memory backend that can fail the n-th write of an agent's entry, corrupt what it reads back, or run a hook on
/// each write: the failures an import must survive without touching the file.
/// </summary>
internal sealed class FaultyBackend : ISecretBackend
{
    private readonly InMemorySecretBackend _inner = new();
    private int _entryPuts;

    /// <summary>When set, the write of an agent entry with this 1-based number fails as backend-unavailable.</summary>
    public int? FailEntryPut { get; set; }

    /// <summary>When true, reads of agent entries return a value with one extra byte.</summary>
    public bool CorruptReads { get; set; }

    public Action<EntryKey>? OnEntryPut { get; set; }

    public int EntryPuts => _entryPuts;

    public BackendCapabilities Capabilities => _inner.Capabilities;

    public ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        if (!CorruptReads || key.IsRegistry)
        {
            return _inner.GetAsync(key, cancellationToken);
        }

        return Corrupt();

        async ValueTask<BackendEntry?> Corrupt() =>
            await _inner.GetAsync(key, cancellationToken) is { } e ? e with { Value = [.. e.Value, (byte)'!'] } : null;
    }

    public ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        if (!entry.Metadata.Key.IsRegistry)
        {
            var n = Interlocked.Increment(ref _entryPuts);
            OnEntryPut?.Invoke(entry.Metadata.Key);
            if (n == FailEntryPut)
            {
                throw AgentScopeException.Unavailable("injected failure");
            }
        }

        return _inner.PutAsync(entry, cancellationToken);
    }

    public ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default) => _inner.DeleteAsync(key, cancellationToken);

    public IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default) => _inner.ListAsync(ns, cancellationToken);

    public IAsyncEnumerable<EntryMetadata> ListAllAsync(CancellationToken cancellationToken = default) => _inner.ListAllAsync(cancellationToken);

    public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}

internal sealed class CollectingAuditSink : IAuditSink
{
    public ConcurrentQueue<AuditEvent> Events { get; } = new();

    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        Events.Enqueue(auditEvent);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The core over a <see cref="FaultyBackend"/>, plus a temporary directory for the .env under test.</summary>
internal sealed class ImportHarness : IDisposable
{
    private readonly ServiceProvider _services;

    public ImportHarness()
    {
        var services = new ServiceCollection();
        services.AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        services.AddSingleton<ISecretBackend>(Backend);
        services.AddSingleton<IAuditSink>(Audit);
        _services = services.BuildServiceProvider();
        Authenticator = _services.GetRequiredService<AgentScopeAuthenticator>();
        Admin = Authenticator.LocalAdmin(new AccessContext { Surface = "test" });
        Dir = Directory.CreateTempSubdirectory("agentscope-import-test-").FullName;
    }

    public FaultyBackend Backend { get; } = new();
    public CollectingAuditSink Audit { get; } = new();
    public AgentScopeAuthenticator Authenticator { get; }
    public AgentAdmin Admin { get; }
    public string Dir { get; }

    public string WriteEnv(string text, string name = ".env")
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    public Task<Cli.ImportEnv.ImportResult> ImportAsync(string file, string agent = "bot", bool create = true, bool rewrite = true,
        bool dryRun = false, bool backup = false, Cli.ImportEnv.ImportSelection? selection = null) =>
        new Cli.ImportEnv.EnvImporter(Admin).RunAsync(new Cli.ImportEnv.ImportRequest
        {
            File = file,
            AgentId = agent,
            CreateAgent = create,
            Rewrite = rewrite,
            DryRun = dryRun,
            Backup = backup,
            Selection = selection ?? new(),
            CheckGit = false,
        }, CancellationToken.None);

    public async Task<string> ReadAsync(string agent, string label) =>
        (await (await Admin.OpenVaultAsync(agent)).GetAsync(label)).Value.Reveal();

    public void Dispose()
    {
        _services.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
