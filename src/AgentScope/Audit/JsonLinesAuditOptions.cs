namespace AgentScope.Audit;

/// <summary>Settings of <see cref="JsonLinesAuditSink"/>.</summary>
public sealed class JsonLinesAuditOptions
{
    /// <summary>
    /// The audit log file (e.g. <c>/var/lib/agentscope/audit.jsonl</c>). Its directory is created when missing. Two
    /// companion files live next to it: <c>&lt;Path&gt;.head</c>, the anchor holding the last sequence number and hash
    /// (so a cut tail is detectable), and <c>&lt;Path&gt;.lock</c>, which writers in different processes lock around
    /// each append.
    /// </summary>
    public required string Path { get; set; }

    /// <summary>
    /// When true, every record is flushed to stable storage (fsync) before <see cref="JsonLinesAuditSink.WriteAsync"/>
    /// returns. Off by default: a record is then handed to the operating system before the call returns, which
    /// survives a crash of the process but not of the machine.
    /// </summary>
    public bool Durable { get; set; }

    /// <summary>
    /// How long an append waits for another process holding the log's lock before failing with a typed
    /// "unavailable" error. Ten seconds by default.
    /// </summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Test hook: lock by opening the lock file exclusively for each append (the mechanism used where region locks
    /// are unsupported, i.e. macOS) instead of a region lock on a handle kept open.
    /// </summary>
    internal bool UseExclusiveOpenLock { get; set; }
}
