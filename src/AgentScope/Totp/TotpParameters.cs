using System.Globalization;

namespace AgentScope;

/// <summary>
/// A validated TOTP generator: secret, hash, digit count and period. <see cref="ToString"/> is redacted because
/// instances end up in logs and debugger views; the secret must not.
/// </summary>
internal sealed record TotpParameters
{
    public const int DefaultDigits = 6;
    public const int DefaultPeriod = 30;
    public const int MaxPeriod = 300;

    private const string UriScheme = "otpauth://";

    public TotpParameters(byte[] secret, TotpAlgorithm algorithm = TotpAlgorithm.Sha1, int digits = DefaultDigits, int period = DefaultPeriod)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length == 0)
        {
            throw AgentScopeException.InvalidInput("TOTP secret is empty.");
        }

        if (!Enum.IsDefined(algorithm))
        {
            throw AgentScopeException.InvalidInput("TOTP algorithm must be SHA1, SHA256 or SHA512.");
        }

        if (digits is not (6 or 8))
        {
            throw AgentScopeException.InvalidInput("TOTP digits must be 6 or 8.");
        }

        if (period is < 1 or > MaxPeriod)
        {
            throw AgentScopeException.InvalidInput($"TOTP period must be between 1 and {MaxPeriod} seconds.");
        }

        Secret = secret;
        Algorithm = algorithm;
        Digits = digits;
        Period = period;
    }

    // Get-only, so a `with` expression cannot bypass the constructor's validation.
    public byte[] Secret { get; }

    public TotpAlgorithm Algorithm { get; }

    public int Digits { get; }

    public int Period { get; }

    /// <summary>
    /// Parses a bare base32 seed (defaults: SHA1, 6 digits, 30 s) or an <c>otpauth://totp/...</c> URI.
    /// Every failure is an invalid-input error whose message quotes nothing from the input.
    /// </summary>
    public static TotpParameters Parse(string seedOrUri)
    {
        ArgumentNullException.ThrowIfNull(seedOrUri);
        var text = seedOrUri.AsSpan().Trim();
        if (text.IsEmpty)
        {
            throw AgentScopeException.InvalidInput("TOTP seed is empty.");
        }

        return text.StartsWith(UriScheme, StringComparison.OrdinalIgnoreCase)
            ? ParseUri(text[UriScheme.Length..])
            : new TotpParameters(Base32.Decode(text));
    }

    public bool Equals(TotpParameters? other) =>
        other is not null
        && Algorithm == other.Algorithm
        && Digits == other.Digits
        && Period == other.Period
        && Secret.AsSpan().SequenceEqual(other.Secret);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Secret);
        hash.Add(Algorithm);
        hash.Add(Digits);
        hash.Add(Period);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"TotpParameters {{ Algorithm = {Algorithm}, Digits = {Digits}, Period = {Period}, Secret = [redacted] }}";

    // rest: "totp/Label?secret=...&algorithm=...", the scheme already removed.
    private static TotpParameters ParseUri(ReadOnlySpan<char> rest)
    {
        var typeEnd = rest.IndexOfAny('/', '?');
        var type = typeEnd < 0 ? rest : rest[..typeEnd];
        if (type.Equals("hotp", StringComparison.OrdinalIgnoreCase))
        {
            throw AgentScopeException.InvalidInput("otpauth URI is HOTP (counter-based); only TOTP is supported.");
        }

        if (!type.Equals("totp", StringComparison.OrdinalIgnoreCase))
        {
            throw AgentScopeException.InvalidInput("otpauth URI must be of type totp (otpauth://totp/...).");
        }

        var fragment = rest.IndexOf('#');
        if (fragment >= 0)
        {
            rest = rest[..fragment];
        }

        var queryStart = rest.IndexOf('?');
        var query = queryStart < 0 ? [] : rest[(queryStart + 1)..];

        string? secret = null, algorithm = null, digits = null, period = null;
        foreach (var range in query.Split('&'))
        {
            var pair = query[range];
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? [] : pair[(eq + 1)..];
            if (name.Equals("secret", StringComparison.OrdinalIgnoreCase))
            {
                Assign(ref secret, value, "secret");
            }
            else if (name.Equals("algorithm", StringComparison.OrdinalIgnoreCase))
            {
                Assign(ref algorithm, value, "algorithm");
            }
            else if (name.Equals("digits", StringComparison.OrdinalIgnoreCase))
            {
                Assign(ref digits, value, "digits");
            }
            else if (name.Equals("period", StringComparison.OrdinalIgnoreCase))
            {
                Assign(ref period, value, "period");
            }

            // issuer, image and anything else do not change the code; ignored.
        }

        if (secret is null)
        {
            throw AgentScopeException.InvalidInput("otpauth URI has no secret parameter.");
        }

        return new TotpParameters(
            Base32.Decode(secret),
            algorithm is null ? TotpAlgorithm.Sha1 : ParseAlgorithm(algorithm),
            digits is null ? DefaultDigits : ParseNumber(digits),
            period is null ? DefaultPeriod : ParseNumber(period));
    }

    // A repeated parameter is ambiguous (which one would an authenticator app use?), so it is refused.
    private static void Assign(ref string? slot, ReadOnlySpan<char> raw, string name)
    {
        if (slot is not null)
        {
            throw AgentScopeException.InvalidInput($"otpauth URI has more than one {name} parameter.");
        }

        slot = Uri.UnescapeDataString(raw.ToString());
    }

    private static TotpAlgorithm ParseAlgorithm(string value) => value.ToUpperInvariant() switch
    {
        "SHA1" => TotpAlgorithm.Sha1,
        "SHA256" => TotpAlgorithm.Sha256,
        "SHA512" => TotpAlgorithm.Sha512,
        _ => throw AgentScopeException.InvalidInput("otpauth algorithm must be SHA1, SHA256 or SHA512."),
    };

    // Not a plain decimal int (e.g. "six", "30s", overflow): -1 lets the constructor refuse it with its range message.
    private static int ParseNumber(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : -1;
}
