using AgentScope.Audit;

namespace AgentScope.Tests.Audit;

/// <summary>A temporary directory holding one audit log, plus helpers to build events and tamper with lines.</summary>
internal sealed class AuditTestFiles : IDisposable
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public AuditTestFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "agentscope-audit-tests", Guid.NewGuid().ToString("N"));
        LogPath = Path.Combine(Directory, "audit", "audit.jsonl");
    }

    public string Directory { get; }

    public string LogPath { get; }

    public JsonLinesAuditSink Open(bool durable = false, bool exclusiveOpenLock = false, TimeSpan? lockTimeout = null) =>
        new(new JsonLinesAuditOptions
        {
            Path = LogPath,
            Durable = durable,
            UseExclusiveOpenLock = exclusiveOpenLock,
            LockTimeout = lockTimeout ?? TimeSpan.FromSeconds(10),
        });

    public static AuditEvent Event(int i, string agent = "support-bot", string label = "stripe-refund", string action = AuditActions.Read, string outcome = AuditOutcomes.Ok) => new()
    {
        Time = T0.AddMinutes(i),
        Actor = "agent:" + agent,
        Action = action,
        AgentId = agent,
        Label = label,
        Outcome = outcome,
        RequestId = "req-" + i,
    };

    public async Task<JsonLinesAuditSink> WriteAsync(int count)
    {
        var sink = Open();
        for (var i = 0; i < count; i++)
        {
            await sink.WriteAsync(Event(i));
        }

        return sink;
    }

    public string[] ReadLines() => File.ReadAllText(LogPath).Split('\n')[..^1];

    public void WriteLines(IEnumerable<string> lines) => File.WriteAllText(LogPath, string.Concat(lines.Select(l => l + "\n")));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
