namespace AgentScope;

/// <summary>The HMAC hash a TOTP generator uses (the otpauth <c>algorithm</c> parameter).</summary>
internal enum TotpAlgorithm
{
    Sha1,
    Sha256,
    Sha512,
}
