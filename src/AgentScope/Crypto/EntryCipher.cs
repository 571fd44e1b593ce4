using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AgentScope.Crypto;

/// <summary>
/// AES-256-GCM of one entry's value under its agent's data key. The associated data binds the ciphertext to
/// (agent, label, version), so a row copied onto another label, agent or version fails to decrypt.
/// Layout: format byte, 12-byte nonce, ciphertext, 16-byte tag.
/// </summary>
internal static class EntryCipher
{
    private const byte Format = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    public const int Overhead = 1 + NonceSize + TagSize;

    public static byte[] Encrypt(ReadOnlySpan<byte> dataKey, string agentId, string label, long version, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[Overhead + plaintext.Length];
        output[0] = Format;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(dataKey, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize, plaintext.Length), output.AsSpan(1 + NonceSize + plaintext.Length), Aad(agentId, label, version));
        return output;
    }

    public static byte[] Decrypt(ReadOnlySpan<byte> dataKey, string agentId, string label, long version, ReadOnlySpan<byte> stored)
    {
        if (stored.Length < Overhead || stored[0] != Format)
        {
            throw Tampered(label);
        }

        var plaintext = new byte[stored.Length - Overhead];
        try
        {
            using var aes = new AesGcm(dataKey, TagSize);
            aes.Decrypt(stored.Slice(1, NonceSize), stored.Slice(1 + NonceSize, plaintext.Length), stored[^TagSize..], plaintext, Aad(agentId, label, version));
        }
        catch (CryptographicException e)
        {
            throw Tampered(label, e);
        }

        return plaintext;
    }

    private static AgentScopeException Tampered(string label, Exception? inner = null) => new(ErrorKind.BackendPermission,
        $"the stored value of '{label}' does not decrypt under its agent's data key (moved, altered or from another store)", inner);

    private static byte[] Aad(string agentId, string label, long version)
    {
        // Length-prefixed parts: no separator ambiguity between agent and label.
        var a = Encoding.UTF8.GetBytes(agentId);
        var l = Encoding.UTF8.GetBytes(label);
        var aad = new byte[2 + 2 + a.Length + 2 + l.Length + 8];
        var span = aad.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, Format);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)a.Length);
        a.CopyTo(span[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[(4 + a.Length)..], (ushort)l.Length);
        l.CopyTo(span[(6 + a.Length)..]);
        BinaryPrimitives.WriteInt64BigEndian(span[(6 + a.Length + l.Length)..], version);
        return aad;
    }
}
