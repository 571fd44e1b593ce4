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
    public const int TagSize = 16;
    public const int Overhead = 1 + NonceSize + TagSize;

    // Agent ids and labels are short ASCII (63 and 128 characters at most), so the AAD fits on the stack.
    private const int StackAadLimit = 256;

    /// <summary>Encrypts a value; <paramref name="aes"/> holds the agent's data key and is not used by another thread meanwhile.</summary>
    public static byte[] Encrypt(AesGcm aes, string agentId, string label, long version, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[Overhead + plaintext.Length];
        output[0] = Format;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        var aadLength = AadLength(agentId, label);
        var aad = aadLength <= StackAadLimit ? stackalloc byte[aadLength] : new byte[aadLength];
        WriteAad(agentId, label, version, aad);
        aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize, plaintext.Length), output.AsSpan(1 + NonceSize + plaintext.Length), aad);
        return output;
    }

    /// <summary>Decrypts a stored value; <paramref name="aes"/> holds the agent's data key and is not used by another thread meanwhile.</summary>
    public static byte[] Decrypt(AesGcm aes, string agentId, string label, long version, ReadOnlySpan<byte> stored)
    {
        if (stored.Length < Overhead || stored[0] != Format)
        {
            throw Tampered(label);
        }

        var plaintext = new byte[stored.Length - Overhead];
        var aadLength = AadLength(agentId, label);
        var aad = aadLength <= StackAadLimit ? stackalloc byte[aadLength] : new byte[aadLength];
        WriteAad(agentId, label, version, aad);
        try
        {
            aes.Decrypt(stored.Slice(1, NonceSize), stored.Slice(1 + NonceSize, plaintext.Length), stored[^TagSize..], plaintext, aad);
        }
        catch (CryptographicException e)
        {
            throw Tampered(label, e);
        }

        return plaintext;
    }

    private static AgentScopeException Tampered(string label, Exception? inner = null) => new(ErrorKind.BackendPermission,
        $"the stored value of '{label}' does not decrypt under its agent's data key (moved, altered or from another store)", inner);

    private static int AadLength(string agentId, string label) => 2 + 2 + Encoding.UTF8.GetByteCount(agentId) + 2 + Encoding.UTF8.GetByteCount(label) + 8;

    private static void WriteAad(string agentId, string label, long version, Span<byte> aad)
    {
        // Length-prefixed parts: no separator ambiguity between agent and label.
        BinaryPrimitives.WriteUInt16BigEndian(aad, Format);
        var a = Encoding.UTF8.GetBytes(agentId, aad[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(aad[2..], (ushort)a);
        var l = Encoding.UTF8.GetBytes(label, aad[(6 + a)..]);
        BinaryPrimitives.WriteUInt16BigEndian(aad[(4 + a)..], (ushort)l);
        BinaryPrimitives.WriteInt64BigEndian(aad[(6 + a + l)..], version);
    }
}
