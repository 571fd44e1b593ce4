using System.Text;

namespace AgentScope.DotEnv;

/// <summary>
/// Edits <c>.env</c> text line by line, so that everything not touched (comments, blank lines, order, quoting, line endings,
/// a BOM) stays byte for byte as it was.
/// </summary>
internal static class DotEnvRewriter
{
    /// <summary>
    /// Removes every definition of the names in <paramref name="remove"/> (all the lines each one spans; earlier duplicates
    /// too). The last definition of a name is replaced by its comment line when the map gives one. Then appends
    /// <paramref name="append"/>, one line each, in the file's own line ending.
    /// </summary>
    public static string Rewrite(string text, IReadOnlyDictionary<string, string?> remove, IReadOnlyList<string> append)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(append);
        var lines = SplitLines(text);
        var replacement = new Dictionary<int, string?>(); // 0-based line -> comment to put there, or null to drop it
        var definitions = DotEnvParser.ParseDefinitions(text);
        foreach (var group in definitions.Where(d => remove.ContainsKey(d.Key)).GroupBy(d => d.Key, StringComparer.Ordinal))
        {
            var last = group.Last();
            foreach (var d in group)
            {
                for (var line = d.Line; line <= d.EndLine; line++)
                {
                    replacement[line - 1] = null;
                }
            }

            if (remove[group.Key] is { } comment)
            {
                replacement[last.Line - 1] = comment;
            }
        }

        var newline = lines.Select(l => l.Terminator).FirstOrDefault(t => t.Length > 0) ?? "\n";
        var sb = new StringBuilder(text.Length + 64 * (append.Count + 1));
        for (var i = 0; i < lines.Count; i++)
        {
            if (!replacement.TryGetValue(i, out var comment))
            {
                sb.Append(lines[i].Content).Append(lines[i].Terminator);
            }
            else if (comment is not null)
            {
                // The BOM, if any, belongs to the file, not to the line it precedes.
                if (i == 0 && lines[0].Content.StartsWith('\ufeff'))
                {
                    sb.Append('\ufeff');
                }

                sb.Append(comment).Append(lines[i].Terminator.Length > 0 ? lines[i].Terminator : newline);
            }
            else if (i == 0 && lines[0].Content.StartsWith('\ufeff'))
            {
                sb.Append('\ufeff');
            }
        }

        if (append.Count > 0)
        {
            if (sb.Length > 0 && sb[^1] is not ('\n' or '\r'))
            {
                sb.Append(newline);
            }

            foreach (var line in append)
            {
                sb.Append(line).Append(newline);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Null when <paramref name="after"/> parses to exactly what was intended: every variable of <paramref name="before"/>
    /// not in <paramref name="removed"/> with the same value, none of <paramref name="removed"/> (unless re-added), and each of
    /// <paramref name="added"/> with its value. Otherwise the first difference, naming variables, never values.
    /// </summary>
    public static string? CheckRewrite(string before, string after, IReadOnlySet<string> removed, IReadOnlyDictionary<string, string> added)
    {
        var expected = DotEnvParser.Parse(before)
            .Where(e => !removed.Contains(e.Key) && !added.ContainsKey(e.Key))
            .ToDictionary(e => e.Key, e => e.Value.Reveal(), StringComparer.Ordinal);
        foreach (var (k, v) in added)
        {
            expected[k] = v;
        }

        var actual = DotEnvParser.Parse(after).ToDictionary(e => e.Key, e => e.Value.Reveal(), StringComparer.Ordinal);
        foreach (var (k, v) in expected)
        {
            if (!actual.TryGetValue(k, out var got))
            {
                return $"{k} would disappear";
            }

            if (!string.Equals(got, v, StringComparison.Ordinal))
            {
                return $"{k} would read differently";
            }
        }

        return actual.Keys.FirstOrDefault(k => !expected.ContainsKey(k)) is { } extra ? $"{extra} would remain or appear" : null;
    }

    internal readonly record struct Line(string Content, string Terminator);

    /// <summary>Lines with their terminators; CRLF, LF and lone CR each end one line, as in <see cref="DotEnvParser"/>.</summary>
    internal static List<Line> SplitLines(string text)
    {
        var lines = new List<Line>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' || text[i] == '\r')
            {
                var terminatorLength = text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                lines.Add(new Line(text[start..i], text.Substring(i, terminatorLength)));
                i += terminatorLength - 1;
                start = i + 1;
            }
        }

        // The text after the last terminator is a line too (the parser counts it), even when empty.
        lines.Add(new Line(text[start..], ""));
        return lines;
    }
}
