using System.Globalization;

namespace AgentScope.Cli;

/// <summary>Human durations for options: <c>0</c>, <c>90s</c>, <c>30m</c>, <c>1h</c>, <c>7d</c>, or a TimeSpan (<c>01:00:00</c>).</summary>
internal static class Durations
{
    public static TimeSpan Parse(string text)
    {
        text = text.Trim();
        if (text == "0")
        {
            return TimeSpan.Zero;
        }

        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
        {
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var ts) && ts >= TimeSpan.Zero
            ? ts
            : throw AgentScopeException.InvalidInput($"invalid duration '{text}': use e.g. 0, 90s, 30m, 1h, 7d");
    }
}
