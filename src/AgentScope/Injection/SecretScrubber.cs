using System.Text;
using System.Text.RegularExpressions;

namespace AgentScope.Injection;

/// <summary>
/// Removes injected values from what an upstream sends back, replacing each occurrence with <c>[redacted:LABEL]</c>.
/// For every form in which a value was sent (raw, JSON-escaped, form- and percent-encoded) it removes:
/// <list type="bullet">
/// <item>the form itself, with any of its characters percent-encoded (either hex case, <c>+</c> for a space) or
/// JSON-escaped (<c>\uXXXX</c> in either case, <c>\"</c>, <c>\\</c>, <c>\/</c>, <c>\n</c>...), in any mixture, which covers
/// what every common URL and JSON encoder produces;</item>
/// <item>its base64, standard and URL-safe, padded or not, and also where it sits inside a longer base64 text (an echo
/// of a whole header or body), at each of the three byte alignments: the characters that depend on the value alone;</item>
/// <item>its hex, in either case.</item>
/// </list>
/// It is a safety net under the host allowlist, not a proof: an upstream that transforms a value otherwise (hashes it,
/// reverses it, compresses it, wraps base64 lines) is not caught, which is why values only go to allowed hosts.
/// </summary>
internal sealed class SecretScrubber
{
    // Shorter base64 runs carry under 3 bytes of a value and would match ordinary text too often to be worth removing.
    private const int MinBase64Run = 4;

    private readonly Regex? _pattern;
    private readonly string[] _markers;
    private readonly int _longest;

    public SecretScrubber(IEnumerable<KeyValuePair<string, string>> labelledValues)
    {
        var groups = new List<string>();
        var markers = new List<string>();
        foreach (var (label, value) in labelledValues)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            var alternatives = new List<(string Pattern, int MinLength, int MaxLength)>();
            foreach (var form in InjectionEncodings.SentForms(value))
            {
                alternatives.Add(AnyEscaping(form, lettersToo: true));
                var bytes = Encoding.UTF8.GetBytes(form);
                alternatives.AddRange(Base64Runs(bytes).Select(run => AnyEscaping(run, lettersToo: false)));
                alternatives.Add(AnyEscaping(Convert.ToHexString(bytes), lettersToo: false));
                alternatives.Add(AnyEscaping(Convert.ToHexStringLower(bytes), lettersToo: false));
            }

            // At one position, prefer the longest form, so a padded base64 run is removed whole.
            var ordered = alternatives.DistinctBy(a => a.Pattern).OrderByDescending(a => a.MinLength).ToList();
            _longest = Math.Max(_longest, ordered.Max(a => a.MaxLength));
            groups.Add($"(?<g{groups.Count}>{string.Join('|', ordered.Select(a => a.Pattern))})");
            markers.Add($"[redacted:{label}]");
        }

        _markers = [.. markers];
        _pattern = groups.Count == 0 ? null : new Regex(string.Join('|', groups), RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);
    }

    /// <summary>
    /// The text with every occurrence replaced. When <paramref name="truncated"/> is set, the text was cut at a size
    /// limit, which may have cut an occurrence too: the unmatched tail that could hold its beginning is dropped as well.
    /// </summary>
    public string Scrub(string text, bool truncated = false)
    {
        if (_pattern is null || text.Length == 0)
        {
            return text;
        }

        var sb = (StringBuilder?)null;
        var last = 0;
        for (var m = _pattern.Match(text); m.Success; m = m.NextMatch())
        {
            sb ??= new StringBuilder(text.Length);
            sb.Append(text, last, m.Index - last).Append(_markers[GroupIndex(m)]);
            last = m.Index + m.Length;
        }

        var end = text.Length;
        if (truncated)
        {
            // An occurrence cut by the limit has fewer characters than its longest form and ends the text.
            end = Math.Max(last, text.Length - (_longest - 1));
            if (end > last && char.IsHighSurrogate(text[end - 1]))
            {
                end--;
            }
        }

        if (sb is null)
        {
            return end == text.Length ? text : text[..end];
        }

        return sb.Append(text, last, end - last).ToString();
    }

    private int GroupIndex(Match m)
    {
        for (var i = 0; i < _markers.Length; i++)
        {
            if (m.Groups["g" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)].Success)
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>
    /// A pattern for <paramref name="form"/> with each character literal, percent-encoded or JSON-escaped; letters and
    /// digits are matched escaped too only when <paramref name="lettersToo"/> (no common encoder escapes them, and base64
    /// and hex runs are long: their patterns stay small this way).
    /// </summary>
    private static (string Pattern, int MinLength, int MaxLength) AnyEscaping(string form, bool lettersToo)
    {
        var sb = new StringBuilder();
        int min = 0, max = 0;
        Span<byte> utf8 = stackalloc byte[4];
        Span<char> utf16 = stackalloc char[2];
        foreach (var rune in form.EnumerateRunes())
        {
            min++;
            if (!lettersToo && rune.IsAscii && char.IsAsciiLetterOrDigit((char)rune.Value))
            {
                sb.Append((char)rune.Value);
                max++;
                continue;
            }

            var options = new List<string> { Regex.Escape(rune.ToString()) };
            var n = rune.EncodeToUtf8(utf8);
            var percent = new StringBuilder();
            for (var i = 0; i < n; i++)
            {
                percent.Append('%').Append(HexDigit(utf8[i] >> 4)).Append(HexDigit(utf8[i] & 0xF));
            }

            options.Add(percent.ToString());
            var units = rune.EncodeToUtf16(utf16);
            var unicode = new StringBuilder();
            for (var i = 0; i < units; i++)
            {
                unicode.Append(@"\\u");
                for (var shift = 12; shift >= 0; shift -= 4)
                {
                    unicode.Append(HexDigit((utf16[i] >> shift) & 0xF));
                }
            }

            options.Add(unicode.ToString());
            switch (rune.Value)
            {
                // A space, form-encoded, is '+', which JSON encoders such as System.Text.Json's default then write \u002B.
                case ' ': options.AddRange([@"\+", @"\\u002[bB]"]); break;
                case '"': options.Add("\\\\\""); break;
                case '\\': options.Add(@"\\\\"); break;
                case '/': options.Add(@"\\/"); break;
                case '\n': options.Add(@"\\n"); break;
                case '\r': options.Add(@"\\r"); break;
                case '\t': options.Add(@"\\t"); break;
                case '\b': options.Add(@"\\b"); break;
                case '\f': options.Add(@"\\f"); break;
            }

            sb.Append("(?:").Append(string.Join('|', options)).Append(')');
            max += Math.Max(3 * n, 6 * units);
        }

        return (sb.ToString(), min, max);
    }

    private static string HexDigit(int d) => d < 10
        ? ((char)('0' + d)).ToString()
        : $"[{(char)('a' + d - 10)}{(char)('A' + d - 10)}]";

    /// <summary>
    /// The base64 runs that give <paramref name="bytes"/> away: the whole encoding (padded and not), and, for each of the
    /// three positions the value can take inside a longer encoded text, the characters that encode its bits alone.
    /// Each in standard and URL-safe alphabets.
    /// </summary>
    internal static IEnumerable<string> Base64Runs(byte[] bytes)
    {
        var runs = new List<string>();
        var full = Convert.ToBase64String(bytes);
        runs.Add(full);
        runs.Add(full.TrimEnd('='));
        for (var offset = 0; offset < 3; offset++)
        {
            var buffer = new byte[offset + bytes.Length + 2];
            bytes.CopyTo(buffer, offset);
            var encoded = Convert.ToBase64String(buffer);
            // Character i covers bits [6i, 6i + 6); the value's bits are [8 * offset, 8 * (offset + length)).
            var first = (8 * offset + 5) / 6;
            var last = 8 * (offset + bytes.Length) / 6;
            if (last - first >= MinBase64Run)
            {
                runs.Add(encoded[first..last]);
            }
        }

        return runs.Where(r => r.Length >= MinBase64Run)
            .SelectMany(r => new[] { r, r.Replace('+', '-').Replace('/', '_') })
            .Distinct(StringComparer.Ordinal);
    }
}
