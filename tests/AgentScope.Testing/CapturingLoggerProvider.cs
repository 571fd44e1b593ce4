using Microsoft.Extensions.Logging;

namespace AgentScope.Testing;

/// <summary>Captures every log entry written through it, with the exception's full text, so tests can search the output.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly Lock _gate = new();
    private readonly List<string> _entries = [];

    /// <summary>Every entry so far as "level category: message" followed by the exception's <c>ToString()</c>, if any.</summary>
    public IReadOnlyList<string> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries.ToArray();
            }
        }
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void Add(string entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
        }
    }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = $"{logLevel} {category}: {formatter(state, exception)}";
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                text += " {" + string.Join(", ", values.Select(kv => kv.Key + "=" + kv.Value)) + "}";
            }

            owner.Add(exception is null ? text : text + Environment.NewLine + exception);
        }
    }
}
