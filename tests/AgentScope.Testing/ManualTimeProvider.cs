namespace AgentScope.Testing;

/// <summary>
/// A clock that moves only when a test moves it. Timers are not faked: the core reads the time, it does not wait on it.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    /// <summary>The instant a new provider starts at unless told otherwise: 2026-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private long _utcTicks;

    /// <summary>Starts at <paramref name="start"/> (default <see cref="DefaultStart"/>).</summary>
    public ManualTimeProvider(DateTimeOffset? start = null) => _utcTicks = (start ?? DefaultStart).UtcTicks;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    /// <summary>Moves the clock forward (or back, with a negative span).</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);

    /// <summary>Sets the clock to <paramref name="now"/>.</summary>
    public void SetUtcNow(DateTimeOffset now) => Interlocked.Exchange(ref _utcTicks, now.UtcTicks);
}
