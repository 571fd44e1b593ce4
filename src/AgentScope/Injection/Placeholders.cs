using System.Text;

namespace AgentScope.Injection;

/// <summary>What a placeholder asks for: a stored value, or the current code of a TOTP entry.</summary>
internal enum PlaceholderKind
{
    Secret,
    Totp,
}

/// <summary>One <c>{{secret:label}}</c> or <c>{{totp:label}}</c> in a request template, with where it stands.</summary>
internal readonly record struct Placeholder(PlaceholderKind Kind, string Label, int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>
/// The placeholder grammar: <c>{{secret:LABEL}}</c> and <c>{{totp:LABEL}}</c>, the kind case-insensitive, spaces allowed
/// inside the braces, LABEL in the label grammar. Any other <c>{{...}}</c> is ordinary text; a <c>{{secret:</c> or
/// <c>{{totp:</c> that does not complete is an error rather than text, so a typo is never sent as is.
/// Substitution is one pass over the template: a value that itself looks like a placeholder is not expanded.
/// </summary>
internal static class Placeholders
{
    private const string Open = "{{";
    private const string Close = "}}";

    /// <summary>Every placeholder in <paramref name="text"/>, in order. Throws invalid input for a malformed one.</summary>
    public static IReadOnlyList<Placeholder> Find(string? text, string where)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains(Open, StringComparison.Ordinal))
        {
            return [];
        }

        var found = new List<Placeholder>();
        var i = 0;
        while ((i = text.IndexOf(Open, i, StringComparison.Ordinal)) >= 0)
        {
            var p = SkipSpaces(text, i + Open.Length);
            PlaceholderKind kind;
            if (HasWordAt(text, p, "secret:"))
            {
                kind = PlaceholderKind.Secret;
                p += "secret:".Length;
            }
            else if (HasWordAt(text, p, "totp:"))
            {
                kind = PlaceholderKind.Totp;
                p += "totp:".Length;
            }
            else
            {
                i += 1; // "{{{secret:x}}}" still finds the placeholder one brace later
                continue;
            }

            var close = text.IndexOf(Close, p, StringComparison.Ordinal);
            var label = close < 0 ? null : text[p..close].Trim(' ');
            if (label is null || !Names.IsValidLabel(label))
            {
                throw AgentScopeException.InvalidInput(
                    $"malformed placeholder in {where} at character {i}: write {{{{secret:LABEL}}}} or {{{{totp:LABEL}}}}, where LABEL is 1-{Names.MaxLabelLength} letters, digits, '.', '_' or '-'");
            }

            found.Add(new Placeholder(kind, label, i, close + Close.Length - i));
            i = close + Close.Length;
        }

        return found;
    }

    /// <summary>The template with each placeholder replaced by <paramref name="value"/>'s answer for it.</summary>
    public static string Substitute(string text, IReadOnlyList<Placeholder> placeholders, Func<Placeholder, string> value)
    {
        if (placeholders.Count == 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 64);
        var last = 0;
        foreach (var p in placeholders)
        {
            sb.Append(text, last, p.Start - last).Append(value(p));
            last = p.End;
        }

        return sb.Append(text, last, text.Length - last).ToString();
    }

    private static int SkipSpaces(string text, int i)
    {
        while (i < text.Length && text[i] == ' ')
        {
            i++;
        }

        return i;
    }

    private static bool HasWordAt(string text, int i, string word) => text.AsSpan(i).StartsWith(word, StringComparison.OrdinalIgnoreCase);
}
