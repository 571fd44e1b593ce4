using AgentScope.Agents;
using AgentScope.Audit;

namespace AgentScope;

/// <summary>Turns an API key into the one thing it may use: an agent's <see cref="AgentVault"/>, or an <see cref="AgentAdmin"/>.</summary>
public sealed class AgentScopeAuthenticator
{
    private readonly VaultCore _core;

    internal AgentScopeAuthenticator(VaultCore core) => _core = core;

    /// <summary>
    /// Authenticates an agent key. Unknown, malformed or expired keys are <see cref="ErrorKind.Unauthenticated"/>;
    /// a valid key of a revoked agent is <see cref="ErrorKind.AgentRevoked"/>. Failures are audited without the key.
    /// </summary>
    public async Task<AgentVault> AuthenticateAgentAsync(string? apiKey, AccessContext? context = null, CancellationToken cancellationToken = default)
    {
        context ??= AccessContext.None;
        if (!ApiKeys.TryParse(apiKey, out var key) || key.IsAdmin)
        {
            await FailAsync(null, key.IsAdmin ? "an admin key cannot act as an agent" : "malformed or missing key", context).ConfigureAwait(false);
            throw key.IsAdmin
                ? AgentScopeException.Denied("an admin key cannot use the agent API; use an agent key, or --agent as admin")
                : AgentScopeException.Unauthenticated();
        }

        var session = await _core.Registry.GetSessionAsync(key.AgentId!, cancellationToken).ConfigureAwait(false);
        if (session is not null && !session.IsActive)
        {
            // Revocation emptied the key list, so a revoked agent's key can only be recognised by its prefix.
            await FailAsync(key.AgentId, "agent revoked", context).ConfigureAwait(false);
            throw new AgentScopeException(ErrorKind.AgentRevoked, $"agent '{key.AgentId}' is revoked");
        }

        if (session is null || !session.Verify(key, _core.Now))
        {
            await FailAsync(key.AgentId, "unknown or expired key", context).ConfigureAwait(false);
            throw AgentScopeException.Unauthenticated();
        }

        return new AgentVault(_core, key.AgentId!, key.KeyId, "agent:" + key.AgentId, isAdmin: false, context);
    }

    /// <summary>Authenticates an admin key.</summary>
    public async Task<AgentAdmin> AuthenticateAdminAsync(string? adminKey, AccessContext? context = null, CancellationToken cancellationToken = default)
    {
        context ??= AccessContext.None;
        if (!ApiKeys.TryParse(adminKey, out var key) || !key.IsAdmin)
        {
            await FailAsync(null, key.AgentId is not null ? "an agent key cannot administer" : "malformed or missing admin key", context).ConfigureAwait(false);
            throw key.AgentId is not null
                ? AgentScopeException.Denied("an agent key cannot use the admin API")
                : AgentScopeException.Unauthenticated("missing or invalid admin key");
        }

        var admins = await _core.Registry.GetAdminKeysAsync(cancellationToken).ConfigureAwait(false);
        if (admins is null || !ApiKeys.Verify(key, admins.Keys, _core.Now))
        {
            await FailAsync(null, "unknown admin key", context).ConfigureAwait(false);
            throw AgentScopeException.Unauthenticated("missing or invalid admin key");
        }

        return new AgentAdmin(_core, "admin:" + key.KeyId, context);
    }

    /// <summary>
    /// The administrator of a process that holds the master key itself (the CLI on its own home): no admin key is needed,
    /// since whoever can read the master key can read everything anyway. Audited as <c>admin:local</c>.
    /// </summary>
    public AgentAdmin LocalAdmin(AccessContext? context = null) => new(_core, "admin:local", context ?? AccessContext.None);

    /// <summary>True once an admin key exists (the home or backend was initialised).</summary>
    public async Task<bool> IsInitializedAsync(CancellationToken cancellationToken = default) =>
        (await _core.Registry.GetAdminKeysAsync(cancellationToken).ConfigureAwait(false))?.Keys.Count > 0;

    /// <summary>Creates the first admin key when none exists; returns it once, or null when already initialised.</summary>
    public async Task<string?> InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (await IsInitializedAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var token = await AddAdminKeyAsync(_core, cancellationToken).ConfigureAwait(false);
        await _core.Audit.WriteAsync("system", AuditActions.Init, null, null, AuditOutcomes.Ok, AccessContext.None, ct: cancellationToken).ConfigureAwait(false);
        return token;
    }

    internal static async Task<string> AddAdminKeyAsync(VaultCore core, CancellationToken ct)
    {
        using var gate = await core.Registry.LockAdminKeysAsync(ct).ConfigureAwait(false);
        var admins = await core.Registry.GetAdminKeysAsync(ct).ConfigureAwait(false) ?? new AdminKeysRecord();
        var (token, record) = ApiKeys.NewAdminKey(core.Now);
        admins.Keys.Add(record);
        await core.Registry.SaveAdminKeysAsync(admins, ct).ConfigureAwait(false);
        return token;
    }

    private ValueTask FailAsync(string? agentId, string reason, AccessContext context) =>
        _core.AuditBestEffortAsync("unknown", AuditActions.Authenticate, agentId, null, AuditOutcomes.Denied, context, reason);
}
