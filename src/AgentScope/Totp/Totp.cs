using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace AgentScope;

/// <summary>RFC 6238 time-based one-time passwords (RFC 4226 HOTP over a time-step counter).</summary>
internal static class Totp
{
    /// <summary>The code valid at <paramref name="now"/> and the whole seconds left in its time step (1..period).</summary>
    public static TotpCode Compute(TotpParameters p, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(p);
        var unixSeconds = now.ToUnixTimeSeconds();

        // RFC 6238 defines T as unsigned; there is no meaningful code before the epoch.
        ArgumentOutOfRangeException.ThrowIfNegative(unixSeconds, nameof(now));

        Span<byte> counter = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(counter, unixSeconds / p.Period);

        Span<byte> mac = stackalloc byte[HMACSHA512.HashSizeInBytes];
        var length = p.Algorithm switch
        {
#pragma warning disable CA5350 // HMAC-SHA1 is the RFC 6238 default and what most issuers use; HMAC (not bare SHA1) is still sound.
            TotpAlgorithm.Sha1 => HMACSHA1.HashData(p.Secret, counter, mac),
#pragma warning restore CA5350
            TotpAlgorithm.Sha256 => HMACSHA256.HashData(p.Secret, counter, mac),
            TotpAlgorithm.Sha512 => HMACSHA512.HashData(p.Secret, counter, mac),
            _ => throw new ArgumentOutOfRangeException(nameof(p), "unknown TOTP algorithm"),
        };

        // RFC 4226 §5.3 dynamic truncation: the low nibble of the last byte picks 4 bytes; drop the sign bit.
        var offset = mac[length - 1] & 0x0F;
        var binary = BinaryPrimitives.ReadInt32BigEndian(mac.Slice(offset, 4)) & 0x7FFF_FFFF;
        CryptographicOperations.ZeroMemory(mac);

        var code = p.Digits == 8
            ? (binary % 100_000_000).ToString("D8", CultureInfo.InvariantCulture)
            : (binary % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        var remaining = p.Period - (int)(unixSeconds % p.Period);
        return new TotpCode(code, remaining);
    }
}
