using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentScope.Testing;

/// <summary>
/// Looks for a secret in a text by decoding it every common way, independently of how AgentScope scrubs: the text as
/// is, percent- and form-decoded, JSON-unescaped once or twice (and combinations), and every base64 or hex run decoded at
/// every offset. A hit is any <see cref="Window"/>-byte run of the secret's UTF-8 (or the whole secret, when shorter).
/// </summary>
public static partial class SecretTraces
{
    /// <summary>How many consecutive bytes of a secret count as a trace.</summary>
    public const int Window = 6;

    /// <summary>Where traces of <paramref name="secret"/> were found in <paramref name="text"/> (empty when none).</summary>
    public static IReadOnlyList<string> Find(string text, string secret)
    {
        var found = new List<string>();
        var needles = Needles(Encoding.UTF8.GetBytes(secret));
        var views = new Dictionary<string, string>
        {
            ["as is"] = text,
            ["percent-decoded"] = Try(() => Uri.UnescapeDataString(text)),
            ["form-decoded"] = Try(() => WebUtility.UrlDecode(text)),
            ["JSON-unescaped"] = JsonUnescape(text),
            ["JSON-unescaped, then percent-decoded"] = Try(() => Uri.UnescapeDataString(JsonUnescape(text))),
            ["JSON-unescaped, then form-decoded"] = Try(() => WebUtility.UrlDecode(JsonUnescape(text))),
            ["percent-decoded, then JSON-unescaped"] = JsonUnescape(Try(() => Uri.UnescapeDataString(text))),
            // JSON inside JSON: an echoed JSON body inside a JSON tool result.
            ["JSON-unescaped twice"] = JsonUnescape(JsonUnescape(text)),
            ["JSON-unescaped twice, then percent-decoded"] = Try(() => Uri.UnescapeDataString(JsonUnescape(JsonUnescape(text)))),
            ["JSON-unescaped twice, then form-decoded"] = Try(() => WebUtility.UrlDecode(JsonUnescape(JsonUnescape(text)))),
        };
        foreach (var (how, view) in views)
        {
            var bytes = Encoding.UTF8.GetBytes(view);
            if (needles.Any(n => bytes.AsSpan().IndexOf(n) >= 0))
            {
                found.Add(how);
            }

            foreach (Match run in Base64Run().Matches(view))
            {
                for (var offset = 0; offset < 4; offset++)
                {
                    var chunk = run.Value[offset..].Replace('-', '+').Replace('_', '/').TrimEnd('=');
                    chunk = chunk[..(chunk.Length / 4 * 4)];
                    if (chunk.Length > 0 && !chunk.Contains('=') && Contains(Convert.FromBase64String(chunk), needles))
                    {
                        found.Add($"{how}, base64 run at {run.Index} (offset {offset})");
                    }
                }
            }

            foreach (Match run in HexRun().Matches(view))
            {
                for (var offset = 0; offset < 2; offset++)
                {
                    var chunk = run.Value[offset..];
                    if (Contains(Convert.FromHexString(chunk[..(chunk.Length / 2 * 2)]), needles))
                    {
                        found.Add($"{how}, hex run at {run.Index} (offset {offset})");
                    }
                }
            }
        }

        return found;
    }

    private static bool Contains(byte[] haystack, List<byte[]> needles) => needles.Any(n => haystack.AsSpan().IndexOf(n) >= 0);

    private static List<byte[]> Needles(byte[] secret)
    {
        if (secret.Length <= Window)
        {
            return [secret];
        }

        var windows = new List<byte[]>();
        for (var i = 0; i + Window <= secret.Length; i++)
        {
            windows.Add(secret[i..(i + Window)]);
        }

        return windows;
    }

    private static string Try(Func<string> decode)
    {
        try
        {
            return decode();
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            return "";
        }
    }

    private static string JsonUnescape(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 == s.Length)
            {
                sb.Append(s[i]);
                continue;
            }

            var c = s[++i];
            if (c == 'u' && i + 4 < s.Length && int.TryParse(s.AsSpan(i + 1, 4), System.Globalization.NumberStyles.HexNumber, null, out var code))
            {
                sb.Append((char)code);
                i += 4;
                continue;
            }

            sb.Append(c switch { 'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'f' => '\f', _ => c });
        }

        return sb.ToString();
    }

    [GeneratedRegex("[A-Za-z0-9+/_=-]{8,}")]
    private static partial Regex Base64Run();

    [GeneratedRegex("[0-9A-Fa-f]{12,}")]
    private static partial Regex HexRun();
}
