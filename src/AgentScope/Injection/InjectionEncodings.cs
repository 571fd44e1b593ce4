using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentScope.Injection;

/// <summary>
/// How a value is written where a placeholder stood, by position. The scrubber derives the forms it must remove from
/// the same functions, so whatever was sent is also what gets scrubbed.
/// </summary>
internal static class InjectionEncodings
{
    /// <summary>In a JSON body: the value escaped as the inside of a JSON string (quote, backslash, control characters).</summary>
    public static string Json(string value) => JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();

    /// <summary>In an <c>application/x-www-form-urlencoded</c> body: form encoding (space as <c>+</c>).</summary>
    public static string Form(string value) => WebUtility.UrlEncode(value);

    /// <summary>In a <c>query</c> name or value: RFC 3986 percent-encoding of everything but unreserved characters.</summary>
    public static string Query(string value) => Uri.EscapeDataString(value);

    /// <summary>
    /// In the URL's path or query string: percent-encoding of every character that could change the URL's structure
    /// (<c>/ ? # &amp; = + %</c>, space, non-ASCII...), keeping the ones a path segment holds as they are
    /// (<c>: @ ! $ ' ( ) * , ;</c>), so a token like <c>123:abc</c> reaches the server unchanged.
    /// </summary>
    public static string UrlComponent(string value)
    {
        if (value.All(IsKeptInUrl))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length * 3);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.IsAscii && IsKeptInUrl((char)rune.Value))
            {
                sb.Append((char)rune.Value);
                continue;
            }

            var n = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < n; i++)
            {
                sb.Append('%').Append(utf8[i].ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Every distinct form in which a value can have been sent: raw (headers, plain bodies) and each encoding above.</summary>
    public static IEnumerable<string> SentForms(string value) =>
        new[] { value, Json(value), Form(value), Query(value), UrlComponent(value) }.Distinct(StringComparer.Ordinal);

    private static bool IsKeptInUrl(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or ':' or '@' or '!' or '$' or '\'' or '(' or ')' or '*' or ',' or ';';
}
