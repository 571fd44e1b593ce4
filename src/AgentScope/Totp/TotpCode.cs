namespace AgentScope;

/// <summary>A TOTP code and how many seconds it stays valid.</summary>
/// <param name="Code">The code, zero-padded to its digit count.</param>
/// <param name="Remaining">Seconds until the next time step.</param>
public sealed record TotpCode(string Code, int Remaining);
