using System.Text.RegularExpressions;

namespace AgentScope.DotEnv;

/// <summary>
/// Parses <c>.env</c> text with the rules of the reference implementation, the <c>dotenv</c> npm package's <c>parse()</c>
/// (its <c>LINE</c> expression and quote handling, reproduced exactly and checked against the package's own output):
/// <list type="bullet">
/// <item><c>KEY=value</c> and <c>KEY: value</c>, with an optional <c>export </c> prefix; names are ASCII letters, digits,
/// <c>_</c>, <c>.</c> and <c>-</c>. Lines that do not match are skipped, as are comments (<c>#</c>) and blank lines.</item>
/// <item>Unquoted values end at the line end or at the first <c>#</c> (an inline comment); surrounding whitespace is trimmed.</item>
/// <item>Values in single quotes, double quotes or backticks keep <c>#</c> and inner whitespace, and may span lines. Only in
/// double quotes are <c>\n</c> and <c>\r</c> expanded; no other escape is (<c>\"</c> stays as written).</item>
/// <item>CRLF and lone CR are read as LF, so a multi-line value holds <c>\n</c> line breaks whatever the file's style.</item>
/// <item>A later definition of the same name wins.</item>
/// </list>
/// One deliberate difference: the name <c>__proto__</c>, which the JavaScript object silently drops, is kept.
/// </summary>
public static partial class DotEnvParser
{
    // JavaScript's \s (WhiteSpace + LineTerminator), ^ and $ under the m flag, and '.', spelt out: .NET's own classes and
    // anchors differ (its \s adds U+0085 and lacks U+FEFF, its $ only knows \n, its \w is Unicode).
    private const string S = @"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]";
    private const string LineStart = @"(?<![^\n\r\u2028\u2029])";
    private const string LineEnd = @"(?=[\n\r\u2028\u2029]|\z)";
    private const string AnyButTerminator = @"[^\n\r\u2028\u2029]";

    // dotenv's LINE: /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
    private const string LinePattern =
        LineStart + S + "*(?:export" + S + "+)?(?<key>[A-Za-z0-9_.-]+)(?<sep>" + S + "*=" + S + "*?|:" + S + "+?)" +
        "(?<value>" + S + @"*'(?:\\'|[^'])*'|" + S + @"*""(?:\\""|[^""])*""|" + S + @"*`(?:\\`|[^`])*`|[^#\r\n]+)?" +
        S + "*(?:#" + AnyButTerminator + "*)?" + LineEnd;

    // dotenv's quote removal: value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2')
    private const string QuotedPattern = LineStart + @"(['""`])([\s\S]*)\1" + LineEnd;

    // String.prototype.trim: the same set as \s above.
    private static readonly char[] JsWhitespace =
    [
        '\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006',
        '\u2007', '\u2008', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff',
    ];

    private const int TimeoutMilliseconds = 5_000;

    /// <summary>
    /// The variables of <paramref name="text"/>, one per name, in order of first appearance, each with the value and line
    /// of its last definition. Never fails on malformed lines (they are skipped, as dotenv skips them).
    /// </summary>
    /// <exception cref="AgentScopeException">Invalid input: the text is too complex to parse in bounded time.</exception>
    public static IReadOnlyList<DotEnvEntry> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var order = new List<string>();
        var last = new Dictionary<string, DotEnvEntry>(StringComparer.Ordinal);
        foreach (var entry in ParseDefinitions(text))
        {
            if (!last.ContainsKey(entry.Key))
            {
                order.Add(entry.Key);
            }

            last[entry.Key] = entry;
        }

        return order.Select(k => last[k]).ToList();
    }

    /// <summary>Every definition in file order, duplicates included (the rewriter needs each one's lines).</summary>
    internal static IReadOnlyList<DotEnvEntry> ParseDefinitions(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = Normalize(text);
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i] == '\n')
            {
                lineStarts.Add(i + 1);
            }
        }

        var result = new List<DotEnvEntry>();
        try
        {
            for (var match = Line().Match(lines); match.Success; match = match.NextMatch())
            {
                var key = match.Groups["key"];
                var group = match.Groups["value"];
                var value = group.Success ? group.Value : "";
                value = value.Trim(JsWhitespace);
                var maybeQuote = value.Length > 0 ? value[0] : '\0';
                value = Quoted().Replace(value, "$2");
                if (maybeQuote == '"')
                {
                    value = value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal);
                }

                var end = group.Success && group.Length > 0 ? group.Index + group.Length - 1 : match.Groups["sep"].Index + match.Groups["sep"].Length - 1;
                result.Add(new DotEnvEntry(key.Value, new SecretValue(value), LineOf(lineStarts, key.Index), LineOf(lineStarts, end)));
            }
        }
        catch (RegexMatchTimeoutException)
        {
            throw AgentScopeException.InvalidInput("the .env text is too complex to parse (pathological quoting)");
        }

        return result;
    }

    /// <summary>CRLF and lone CR become LF, as dotenv does before matching (<c>lines.replace(/\r\n?/mg, '\n')</c>).</summary>
    internal static string Normalize(string text) => text.Contains('\r', StringComparison.Ordinal)
        ? text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n')
        : text;

    private static int LineOf(List<int> lineStarts, int index)
    {
        var i = lineStarts.BinarySearch(index);
        return (i >= 0 ? i : ~i - 1) + 1;
    }

    [GeneratedRegex(LinePattern, RegexOptions.CultureInvariant, TimeoutMilliseconds)]
    private static partial Regex Line();

    [GeneratedRegex(QuotedPattern, RegexOptions.CultureInvariant, TimeoutMilliseconds)]
    private static partial Regex Quoted();
}
