using System.Security.Cryptography;
using System.Text;

namespace AgentScope.Crypto;

/// <summary>
/// The root key: it wraps each agent's data key and derives AgentScope's other keys (audit fingerprints).
/// Never stored beside the data it protects: it comes from a 0600 key file or from configuration.
/// </summary>
internal sealed class MasterKey
{
    public const int Size = 32;
    private const byte WrapFormat = 1;
    private readonly byte[] _key;

    public MasterKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw AgentScopeException.InvalidInput($"the master key must be {Size} bytes (base64 of {Size} random bytes)");
        }

        _key = key.ToArray();
        FingerprintKey = Derive("agentscope/audit-fingerprint/v1");
    }

    /// <summary>The HMAC key for audit value fingerprints.</summary>
    public byte[] FingerprintKey { get; }

    public static MasterKey Parse(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw AgentScopeException.InvalidInput("the master key is not valid base64");
        }

        return new MasterKey(bytes);
    }

    public static string GenerateBase64() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(Size));

    public byte[] Derive(string purpose) => HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, Size, info: Encoding.UTF8.GetBytes(purpose));

    /// <summary>Wraps a data key, bound to its agent so a wrapped key copied onto another agent fails to unwrap.</summary>
    public string Wrap(ReadOnlySpan<byte> dataKey, string agentId)
    {
        var output = new byte[1 + AesGcm.NonceByteSizes.MaxSize + dataKey.Length + AesGcm.TagByteSizes.MaxSize];
        output[0] = WrapFormat;
        var nonce = output.AsSpan(1, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(nonce, dataKey, output.AsSpan(13, dataKey.Length), output.AsSpan(13 + dataKey.Length), WrapAad(agentId));
        return Convert.ToBase64String(output);
    }

    public byte[] Unwrap(string wrapped, string agentId)
    {
        try
        {
            var input = Convert.FromBase64String(wrapped);
            if (input.Length != 1 + 12 + Size + 16 || input[0] != WrapFormat)
            {
                throw new CryptographicException("unknown wrapped key format");
            }

            var dataKey = new byte[Size];
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(input.AsSpan(1, 12), input.AsSpan(13, Size), input.AsSpan(13 + Size), dataKey, WrapAad(agentId));
            return dataKey;
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new AgentScopeException(ErrorKind.BackendPermission,
                $"the data key of agent '{agentId}' cannot be unwrapped: wrong master key, or the registry record was altered", e);
        }
    }

    private static byte[] WrapAad(string agentId) => Encoding.UTF8.GetBytes("agentscope/data-key/v1|" + agentId);
}
