using System.Text;

namespace AgentScope.Tests;

/// <summary>A deliberately naive RFC 4648 base32 encoder, independent of the decoder under test.</summary>
internal static class Base32TestEncoder
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string Encode(byte[] data, bool pad = true)
    {
        var bits = new StringBuilder();
        foreach (var b in data)
        {
            bits.Append(Convert.ToString(b, 2).PadLeft(8, '0'));
        }

        while (bits.Length % 5 != 0)
        {
            bits.Append('0');
        }

        var text = new StringBuilder();
        for (var i = 0; i < bits.Length; i += 5)
        {
            text.Append(Alphabet[Convert.ToInt32(bits.ToString(i, 5), 2)]);
        }

        while (pad && text.Length % 8 != 0)
        {
            text.Append('=');
        }

        return text.ToString();
    }
}
