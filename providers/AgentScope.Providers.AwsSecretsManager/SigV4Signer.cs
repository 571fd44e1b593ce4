using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// AWS Signature Version 4 (header form), written out step by step as AWS documents it: canonical request,
/// string to sign, derived signing key, signature. Checked in tests against AWS's published sig-v4 test-suite
/// vectors and against the AWS SDK's own <c>AWS4Signer</c>.
/// </summary>
internal static class SigV4Signer
{
    internal const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The SHA-256 of an empty payload, hex.</summary>
    internal const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>The result of signing: the headers to add and the intermediate strings (for tests and diagnostics).</summary>
    internal sealed record Signature(string Authorization, string AmzDate, string SignedHeaders, string CanonicalRequest, string StringToSign);

    /// <summary>
    /// Signs a request. <paramref name="headers"/> are the headers to sign (Host included); X-Amz-Date is added here.
    /// The session token, when present, is signed too (X-Amz-Security-Token), as AWS's post-sts-header-before case does.
    /// With <paramref name="keys"/>, the derived signing key is reused while the date, key, region and service stay the same.
    /// </summary>
    /// <remarks>
    /// Every request to AWS goes through here, so the steps avoid needless work: the hashes are computed over stack or
    /// pooled buffers and hex-encoded into spans, and with <paramref name="keys"/> the final HMAC reuses a keyed instance
    /// (making one costs more than the hash itself).
    /// </remarks>
    internal static Signature Sign(
        string method,
        string canonicalUri,
        string query,
        IEnumerable<KeyValuePair<string, string>> headers,
        string payloadHash,
        string accessKey,
        string secretKey,
        string? sessionToken,
        string region,
        string service,
        DateTimeOffset now,
        SigningKeyCache? keys = null)
    {
        var amzDate = AmzDate(now.UtcDateTime);
        var date = amzDate[..8];
        var all = new List<KeyValuePair<string, string>>(headers) { new("X-Amz-Date", amzDate) };
        if (!string.IsNullOrEmpty(sessionToken))
        {
            all.Add(new("X-Amz-Security-Token", sessionToken));
        }

        var canonicalRequest = CanonicalRequest(method, canonicalUri, query, all, payloadHash, out var signedHeaders);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = StringToSign(amzDate, scope, canonicalRequest);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        using (var bytes = new Utf8(stringToSign, stackalloc byte[Utf8.StackSize]))
        {
            if (keys is null)
            {
                HMACSHA256.HashData(SigningKey(secretKey, date, region, service), bytes.Span, mac);
            }
            else
            {
                keys.Get(secretKey, date, region, service).Mac(bytes.Span, mac);
            }
        }

        Span<char> signature = stackalloc char[HMACSHA256.HashSizeInBytes * 2];
        Convert.TryToHexStringLower(mac, signature, out _);
        var authorization = $"{Algorithm} Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new Signature(authorization, amzDate, signedHeaders, canonicalRequest, stringToSign);
    }

    /// <summary>Task 1: the canonical request.</summary>
    internal static string CanonicalRequest(
        string method,
        string canonicalUri,
        string query,
        IEnumerable<KeyValuePair<string, string>> headers,
        string payloadHash,
        out string signedHeaders)
    {
        // Header names are lowercased and sorted; values are trimmed with inner runs of spaces collapsed;
        // repeated headers are joined with commas in the order given (so the sort must be stable).
        var sorted = new List<(string Name, string Value)>();
        foreach (var (name, value) in headers)
        {
            var entry = (Name: name.Trim().ToLowerInvariant(), Value: CollapseSpaces(value));
            // Insertion: a request signs a handful of headers, and inserting after equal names keeps repeats in order.
            var at = sorted.Count;
            while (at > 0 && string.CompareOrdinal(sorted[at - 1].Name, entry.Name) > 0)
            {
                at--;
            }

            sorted.Insert(at, entry);
        }

        var names = new DefaultInterpolatedStringHandler(0, 0);
        var creq = new DefaultInterpolatedStringHandler(0, 0);
        creq.AppendFormatted(method);
        creq.AppendLiteral("\n");
        creq.AppendFormatted(canonicalUri);
        creq.AppendLiteral("\n");
        creq.AppendFormatted(CanonicalQuery(query));
        for (var i = 0; i < sorted.Count; i++)
        {
            var (name, value) = sorted[i];
            if (i > 0 && sorted[i - 1].Name == name)
            {
                creq.AppendLiteral(",");
                creq.AppendFormatted(value);
                continue;
            }

            if (i > 0)
            {
                names.AppendLiteral(";");
            }

            names.AppendFormatted(name);
            creq.AppendLiteral("\n");
            creq.AppendFormatted(name);
            creq.AppendLiteral(":");
            creq.AppendFormatted(value);
        }

        signedHeaders = names.ToStringAndClear();
        creq.AppendLiteral("\n\n");
        creq.AppendFormatted(signedHeaders);
        creq.AppendLiteral("\n");
        creq.AppendFormatted(payloadHash);
        return creq.ToStringAndClear();
    }

    /// <summary>Task 2: the string to sign.</summary>
    internal static string StringToSign(string amzDate, string scope, string canonicalRequest)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        using (var bytes = new Utf8(canonicalRequest, stackalloc byte[Utf8.StackSize]))
        {
            SHA256.HashData(bytes.Span, hash);
        }

        Span<char> hex = stackalloc char[SHA256.HashSizeInBytes * 2];
        Convert.TryToHexStringLower(hash, hex, out _);
        return $"{Algorithm}\n{amzDate}\n{scope}\n{hex}";
    }

    /// <summary>Task 3: the derived signing key, HMAC chain over date, region, service and "aws4_request".</summary>
    internal static byte[] SigningKey(string secretKey, string date, string region, string service)
    {
        var kDate = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretKey), Encoding.UTF8.GetBytes(date));
        var kRegion = HMACSHA256.HashData(kDate, Encoding.UTF8.GetBytes(region));
        var kService = HMACSHA256.HashData(kRegion, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(kService, "aws4_request"u8);
    }

    /// <summary>
    /// The last derived signing key, reused while its inputs stay the same: it depends only on the secret key, the date, the
    /// region and the service, so deriving it (four HMACs) once a day is enough, as AWS's SigV4 documentation suggests.
    /// Not a record: a generated ToString would print the secret key.
    /// </summary>
    internal sealed class SigningKeyCache
    {
        private Entry? _last;

        internal Entry Get(string secretKey, string date, string region, string service)
        {
            if (Volatile.Read(ref _last) is { } last && last.Date == date && last.SecretKey == secretKey && last.Region == region && last.Service == service)
            {
                return last;
            }

            var entry = new Entry(secretKey, date, region, service, SigningKey(secretKey, date, region, service));
            Volatile.Write(ref _last, entry);
            return entry;
        }

        /// <summary>One derived key, with a keyed HMAC kept for the next signature (one at a time; others make their own).</summary>
        internal sealed class Entry(string secretKey, string date, string region, string service, byte[] key)
        {
            private IncrementalHash? _spare;

            public string SecretKey { get; } = secretKey;
            public string Date { get; } = date;
            public string Region { get; } = region;
            public string Service { get; } = service;
            public byte[] Key { get; } = key;

            /// <summary>HMAC-SHA256 of <paramref name="data"/> under <see cref="Key"/>.</summary>
            internal void Mac(ReadOnlySpan<byte> data, Span<byte> mac)
            {
                var hmac = Interlocked.Exchange(ref _spare, null) ?? IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Key);
                hmac.AppendData(data);
                hmac.GetHashAndReset(mac);
                if (Interlocked.CompareExchange(ref _spare, hmac, null) is not null)
                {
                    hmac.Dispose();
                }
            }
        }
    }

    /// <summary>The hex SHA-256 of a payload.</summary>
    internal static string HashPayload(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));

    /// <summary>
    /// The canonical URI of a path for every service but S3: each segment URI-encoded (so an already-encoded path is
    /// encoded a second time, as SigV4 specifies), an empty path becoming "/".
    /// </summary>
    internal static string CanonicalUri(string absolutePath)
    {
        if (string.IsNullOrEmpty(absolutePath) || absolutePath == "/")
        {
            return "/";
        }

        return string.Join('/', absolutePath.Split('/').Select(s => UriEncode(s)));
    }

    /// <summary>The canonical query string: parameters URI-encoded, sorted by name and then value.</summary>
    internal static string CanonicalQuery(string query)
    {
        query = query.TrimStart('?');
        if (query.Length == 0)
        {
            return string.Empty;
        }

        var pairs = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p =>
            {
                var eq = p.IndexOf('=', StringComparison.Ordinal);
                var name = eq < 0 ? p : p[..eq];
                var value = eq < 0 ? string.Empty : p[(eq + 1)..];
                return (Name: UriEncode(Uri.UnescapeDataString(name)), Value: UriEncode(Uri.UnescapeDataString(value)));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal);
        return string.Join('&', pairs.Select(p => p.Name + "=" + p.Value));
    }

    /// <summary>RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (uppercase hex) of UTF-8.</summary>
    internal static string UriEncode(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static string CollapseSpaces(string value)
    {
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal))
        {
            return trimmed;
        }

        var sb = new StringBuilder(trimmed.Length);
        var previousSpace = false;
        foreach (var c in trimmed)
        {
            if (c == ' ' && previousSpace)
            {
                continue;
            }

            previousSpace = c == ' ';
            sb.Append(c);
        }

        return sb.ToString();
    }

    /// <summary>yyyyMMdd'T'HHmmss'Z', written digit by digit (a custom format string is parsed on every call).</summary>
    private static string AmzDate(DateTime utc) => string.Create(16, utc, static (span, t) =>
    {
        Digits(span[..4], t.Year);
        Digits(span[4..6], t.Month);
        Digits(span[6..8], t.Day);
        span[8] = 'T';
        Digits(span[9..11], t.Hour);
        Digits(span[11..13], t.Minute);
        Digits(span[13..15], t.Second);
        span[15] = 'Z';
    });

    private static void Digits(Span<char> into, int value)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            into[i] = (char)('0' + (value % 10));
            value /= 10;
        }
    }

    /// <summary>The UTF-8 of a string, in the caller's stack buffer when it fits and in a pooled array otherwise.</summary>
    private ref struct Utf8
    {
        internal const int StackSize = 1024;
        private byte[]? _rented;

        internal Utf8(string text, Span<byte> stack)
        {
            var max = Encoding.UTF8.GetMaxByteCount(text.Length);
            var buffer = max <= stack.Length ? stack : (_rented = ArrayPool<byte>.Shared.Rent(max));
            Span = buffer[..Encoding.UTF8.GetBytes(text, buffer)];
        }

        internal ReadOnlySpan<byte> Span { get; }

        public void Dispose()
        {
            if (_rented is not null)
            {
                ArrayPool<byte>.Shared.Return(_rented);
                _rented = null;
            }
        }
    }
}
