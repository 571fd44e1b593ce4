using AgentScope.Audit;

namespace AgentScope.Testing;

/// <summary>Keeps every audit event in memory, in order; can be told to fail, to exercise the fail-closed path.</summary>
public sealed class CollectingAuditSink : IAuditSink
{
    private readonly Lock _gate = new();
    private readonly List<AuditEvent> _events = [];

    /// <summary>When set, every write throws this exception and records nothing.</summary>
    public Exception? FailWith { get; set; }

    /// <summary>A snapshot of the events written so far, oldest first.</summary>
    public IReadOnlyList<AuditEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return _events.ToArray();
            }
        }
    }

    /// <summary>Forgets every event written so far.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _events.Clear();
        }
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        if (FailWith is { } failure)
        {
            throw failure;
        }

        lock (_gate)
        {
            _events.Add(auditEvent);
        }

        return ValueTask.CompletedTask;
    }
}
