namespace AgentScope.DotEnv;

/// <summary>
/// One variable of a <c>.env</c> file. The value is a <see cref="SecretValue"/>, so <see cref="ToString"/>, loggers and
/// serializers never show it: call <see cref="SecretValue.Reveal"/> where it is meant to leave.
/// </summary>
public sealed class DotEnvEntry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="key">The variable name.</param>
    /// <param name="value">The parsed value (quotes removed, escapes expanded).</param>
    /// <param name="line">The 1-based line of the name.</param>
    /// <param name="endLine">The 1-based last line of the value (greater than <paramref name="line"/> for a multi-line value).</param>
    public DotEnvEntry(string key, SecretValue value, int line, int endLine)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(line, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(endLine, line);
        Key = key;
        Value = value;
        Line = line;
        EndLine = endLine;
    }

    /// <summary>The variable name, as written (case kept).</summary>
    public string Key { get; }

    /// <summary>The value, redacted in <c>ToString</c>.</summary>
    public SecretValue Value { get; }

    /// <summary>The 1-based line where the name is. CRLF, LF and lone CR each end one line.</summary>
    public int Line { get; }

    /// <summary>The 1-based last line the value occupies (the same as <see cref="Line"/> unless the value spans lines).</summary>
    public int EndLine { get; }

    /// <summary>The name and line, never the value: <c>STRIPE_API_KEY (line 3)</c>.</summary>
    public override string ToString() => $"{Key} (line {Line})";
}
