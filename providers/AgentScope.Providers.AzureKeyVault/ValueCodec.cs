using System.Text;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>
/// Key Vault stores a secret value as a string of at most 25,600 characters. Plaintext (valid UTF-8) is stored as
/// text; ciphertext, and any bytes that are not valid UTF-8, are stored as base64, which the content type marks.
/// </summary>
internal static class ValueCodec
{
    /// <summary>The longest value string Key Vault accepts (25 KiB, as characters).</summary>
    public const int ServiceMaxValueChars = 25_600;

    /// <summary>
    /// The largest value AgentScope stores, in bytes: base64 of 19,200 bytes is exactly 25,600 characters, and UTF-8
    /// text never has more characters than bytes, so a value of this size fits whichever encoding it gets.
    /// </summary>
    public const int MaxValueBytes = ServiceMaxValueChars / 4 * 3;

    public const string TextContentType = "text/plain; charset=utf-8";
    public const string Base64ContentType = "application/octet-stream; encoding=base64";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static (string Value, string ContentType) Encode(byte[] bytes, bool encrypted)
    {
        if (!encrypted)
        {
            try
            {
                return (StrictUtf8.GetString(bytes), TextContentType);
            }
            catch (DecoderFallbackException)
            {
                // Not text after all: fall through to base64 rather than corrupt it.
            }
        }

        return (Convert.ToBase64String(bytes), Base64ContentType);
    }

    public static byte[] Decode(string? value, string? contentType)
    {
        value ??= string.Empty;
        return string.Equals(contentType, Base64ContentType, StringComparison.OrdinalIgnoreCase)
            ? Convert.FromBase64String(value)
            : Encoding.UTF8.GetBytes(value);
    }
}
