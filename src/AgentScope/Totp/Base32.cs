namespace AgentScope;

/// <summary>
/// RFC 4648 base32 decoding for TOTP seeds. Lenient where people paste seeds (case, spaces, hyphens, missing '=' padding),
/// strict about everything else. Errors never quote the input: it is a secret.
/// </summary>
internal static class Base32
{
    /// <summary>Decodes <paramref name="text"/>; an empty or separator-only input decodes to no bytes.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        // First pass validates and counts, so the output is allocated once at its exact size.
        var symbols = 0;
        var padding = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is ' ' or '-')
            {
                continue;
            }

            if (c == '=')
            {
                padding++;
                continue;
            }

            // A symbol after padding means '=' appeared in the middle.
            if (padding > 0 || ValueOf(c) < 0)
            {
                throw AgentScopeException.InvalidInput($"TOTP seed is not valid base32: unexpected character at position {i + 1}.");
            }

            symbols++;
        }

        // A final group of 1, 3 or 6 symbols cannot come from any whole number of bytes.
        if ((symbols % 8) is 1 or 3 or 6)
        {
            throw AgentScopeException.InvalidInput("TOTP seed is not valid base32: its length is impossible for base32.");
        }

        if (padding > 0 && (padding >= 8 || (symbols + padding) % 8 != 0))
        {
            throw AgentScopeException.InvalidInput("TOTP seed is not valid base32: its '=' padding is malformed.");
        }

        var output = new byte[symbols * 5 / 8];
        var buffer = 0;
        var bits = 0;
        var written = 0;
        foreach (var c in text)
        {
            var value = ValueOf(c);
            if (value < 0)
            {
                continue;
            }

            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                output[written++] = (byte)(buffer >> bits);
            }
        }

        // Leftover bits (fewer than 8) are the encoder's zero fill; like most authenticator apps, they are not checked.
        return output;
    }

    private static int ValueOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a',
        >= '2' and <= '7' => c - '2' + 26,
        _ => -1,
    };
}
