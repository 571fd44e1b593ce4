using System.Text;
using AgentScope.Agents;
using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Crypto;

namespace AgentScope;

/// <summary>
/// One agent's vault. It is bound to the authenticated agent at construction, and no method takes an agent id:
/// another agent's entries are not denied by a check, they are unaddressable.
/// Every call is checked against the agent's policy and audited, allowed or not.
/// </summary>
public sealed class AgentVault
{
    private readonly VaultCore _core;
    private readonly string _agentId;
    private readonly string? _keyId;
    private readonly string _actor;
    private readonly bool _isAdmin;
    private readonly AccessContext _context;

    internal AgentVault(VaultCore core, string agentId, string? keyId, string actor, bool isAdmin, AccessContext context)
    {
        _core = core;
        _agentId = agentId;
        _keyId = keyId;
        _actor = actor;
        _isAdmin = isAdmin;
        _context = context;
    }

    /// <summary>The agent this vault belongs to.</summary>
    public string AgentId => _agentId;

    // A mutation is recorded before it is applied (fail-closed); if applying then fails, an error record with the same
    // request id follows. Calls without a request id get one, so the two records can be paired.
    private AgentVault Correlated() => _context.RequestId is null ? WithContext(_context with { RequestId = "op-" + Guid.NewGuid().ToString("N")[..16] }) : this;

    /// <summary>The same vault, with another call context (justification, request id).</summary>
    public AgentVault WithContext(AccessContext context) => new(_core, _agentId, _keyId, _actor, _isAdmin, context ?? AccessContext.None);

    /// <summary>Creates or overwrites a label. Overwriting is rotation: the version grows by one.</summary>
    public Task<StoreResult> StoreAsync(string label, SecretValue value, StoreOptions? options = null, CancellationToken cancellationToken = default) =>
        Correlated().StoreCoreAsync(label, value, options, cancellationToken);

    private async Task<StoreResult> StoreCoreAsync(string label, SecretValue value, StoreOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        options ??= new StoreOptions();
        return await RunAsync(AuditActions.Write, VaultOperations.Write, label, async (session, decision, ct) =>
        {
            var plaintext = value.Reveal();
            var bytes = Encoding.UTF8.GetBytes(plaintext);
            var max = _core.MaxValueBytes;
            if (bytes.Length > max)
            {
                throw new AgentScopeException(ErrorKind.ValueTooLarge, $"the value of '{label}' is {bytes.Length} bytes; the limit is {max}");
            }

            if (options.Kind == SecretKind.Totp)
            {
                TotpParameters.Parse(plaintext); // refuse a seed that could never produce a code
            }
            else if (options.Kind != SecretKind.Generic)
            {
                throw AgentScopeException.InvalidInput("kind must be generic or totp");
            }

            if (options.ExpiresAt is { } exp && exp <= _core.Now)
            {
                throw AgentScopeException.InvalidInput("expiresAt is in the past");
            }

            var key = new EntryKey(_agentId, label);
            var existing = await _core.Backend.GetAsync(key, ct).ConfigureAwait(false);
            var now = _core.Now;
            var version = (existing?.Metadata.Version ?? 0) + 1;
            var encrypt = _core.Encrypt;
            byte[] stored;
            if (encrypt)
            {
                var cipher = session.Cipher ?? throw Revoked();
                stored = cipher.Encrypt(_agentId, label, version, bytes);
            }
            else
            {
                stored = bytes;
            }

            if (stored.Length > _core.Backend.Capabilities.MaxValueBytes)
            {
                throw new AgentScopeException(ErrorKind.ValueTooLarge,
                    $"the value of '{label}' is too large for the {_core.Backend.Capabilities.Name} backend ({_core.Backend.Capabilities.MaxValueBytes} bytes stored at most)");
            }

            var metadata = new EntryMetadata(key, options.Kind, version, existing?.Metadata.CreatedAt ?? now, now, options.ExpiresAt, encrypt);

            // Audit first: with a fail-closed sink, nothing changes unless the change is on record.
            await _core.Audit.WriteAsync(_actor, AuditActions.Write, _agentId, label, AuditOutcomes.Ok, _context,
                fingerprint: _core.Audit.Fingerprint(plaintext), detail: $"version={version}", ct: ct).ConfigureAwait(false);
            await _core.Backend.PutAsync(new BackendEntry(metadata, stored), ct).ConfigureAwait(false);

            // A store racing a revoke must not leave an orphan: if revocation began meanwhile, undo the write.
            var fresh = await _core.Registry.GetRecordAsync(_agentId, ct).ConfigureAwait(false);
            if (fresh is not { Status: AgentStatus.Active })
            {
                await _core.Backend.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
                throw Revoked();
            }

            return new StoreResult(label, version, now, existing is null);
        }, audited: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a value. A TOTP entry's seed is refused unless a rule sets <c>revealSeed</c>; use <see cref="GetTotpAsync"/>.</summary>
    public Task<SecretEntry> GetAsync(string label, CancellationToken cancellationToken = default) => ReadAsync(label, toModel: false, cancellationToken);

    /// <summary>
    /// Reads a value for an LLM (the MCP <c>vault.get</c> tool): besides <c>read</c>, an allowing rule must set <c>reveal</c>.
    /// A refusal is an access-denied error, audited like any other.
    /// </summary>
    internal Task<SecretEntry> RevealToModelAsync(string label, CancellationToken cancellationToken = default) => ReadAsync(label, toModel: true, cancellationToken);

    private Task<SecretEntry> ReadAsync(string label, bool toModel, CancellationToken cancellationToken) =>
        RunAsync(AuditActions.Read, VaultOperations.Read, label, async (session, decision, ct) =>
        {
            if (toModel && !decision.Reveal)
            {
                throw AgentScopeException.Denied($"'{label}' may not be revealed to a model: no policy rule allowing read on it sets reveal");
            }

            var entry = await ReadLiveAsync(label, ct).ConfigureAwait(false);
            if (entry.Metadata.Kind == SecretKind.Totp && !decision.RevealSeed)
            {
                throw AgentScopeException.Denied($"'{label}' holds a TOTP seed, which is not revealed; ask for a code with totp instead");
            }

            var value = Decrypt(session, entry);
            var m = entry.Metadata;
            return new SecretEntry(label, new SecretValue(value), m.Kind, m.Version, m.CreatedAt, m.UpdatedAt, m.ExpiresAt);
        }, audited: false, cancellationToken);

    /// <summary>Deletes a label and every version of it.</summary>
    public Task DeleteAsync(string label, CancellationToken cancellationToken = default) =>
        Correlated().DeleteCoreAsync(label, cancellationToken);

    private Task<bool> DeleteCoreAsync(string label, CancellationToken cancellationToken) =>
        RunAsync(AuditActions.Delete, VaultOperations.Delete, label, async (session, decision, ct) =>
        {
            var key = new EntryKey(_agentId, label);
            if (await _core.Backend.GetAsync(key, ct).ConfigureAwait(false) is null)
            {
                throw AgentScopeException.NotFound($"no label '{label}'");
            }

            await _core.Audit.WriteAsync(_actor, AuditActions.Delete, _agentId, label, AuditOutcomes.Ok, _context, ct: ct).ConfigureAwait(false);
            await _core.Backend.DeleteAsync(key, ct).ConfigureAwait(false);

            return true;
        }, audited: true, cancellationToken);

    /// <summary>The labels this agent may list, with metadata and never values.</summary>
    public Task<IReadOnlyList<SecretInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<SecretInfo>>(AuditActions.List, VaultOperations.List, null, async (session, decision, ct) =>
        {
            var now = _core.Now;
            var result = new List<SecretInfo>();
            await foreach (var m in _core.Backend.ListAsync(_agentId, ct).ConfigureAwait(false))
            {
                if (m.Key.Namespace == _agentId && !(m.ExpiresAt is { } exp && exp <= now) && (_isAdmin || MayList(session, m.Key.Label, now)))
                {
                    result.Add(new SecretInfo(m.Key.Label, m.Kind, m.Version, m.CreatedAt, m.UpdatedAt, m.ExpiresAt));
                }
            }

            result.Sort((a, b) => string.CompareOrdinal(a.Label, b.Label));
            return result;
        }, audited: false, cancellationToken);

    /// <summary>The current TOTP code of a TOTP entry, computed here so the seed never leaves.</summary>
    public Task<TotpCode> GetTotpAsync(string label, CancellationToken cancellationToken = default) =>
        RunAsync(AuditActions.Totp, VaultOperations.Totp, label, async (session, decision, ct) =>
        {
            var entry = await ReadLiveAsync(label, ct).ConfigureAwait(false);
            if (entry.Metadata.Kind != SecretKind.Totp)
            {
                throw AgentScopeException.InvalidInput($"'{label}' is not a TOTP entry (store it with kind totp)");
            }

            return Totp.Compute(TotpParameters.Parse(Decrypt(session, entry)), _core.Now);
        }, audited: false, cancellationToken);

    /// <summary>
    /// A value for use in an outbound request to <paramref name="host"/> without disclosure to the caller:
    /// needs the <c>use</c> operation and a rule whose allowed hosts match. A TOTP entry's seed is not sent unless a rule
    /// sets <c>revealSeed</c>; <see cref="UseTotpAsync"/> sends its current code.
    /// </summary>
    internal Task<SecretValue> UseAsync(string label, string host, bool https, bool loopback, CancellationToken cancellationToken = default) =>
        UseAsync(label, host, https, loopback, totpCode: false, cancellationToken);

    /// <summary>The current TOTP code of a TOTP entry for use in an outbound request (same host rules as <see cref="UseAsync(string, string, bool, bool, CancellationToken)"/>).</summary>
    internal Task<SecretValue> UseTotpAsync(string label, string host, bool https, bool loopback, CancellationToken cancellationToken = default) =>
        UseAsync(label, host, https, loopback, totpCode: true, cancellationToken);

    private Task<SecretValue> UseAsync(string label, string host, bool https, bool loopback, bool totpCode, CancellationToken cancellationToken) =>
        RunAsync(AuditActions.Request, VaultOperations.Use, label, async (session, decision, ct) =>
        {
            var target = $"{(https ? "https" : "http")}://{host}";
            var listing = session.Policy.AllowingRules(VaultOperations.Use, label, _core.Now)
                .Where(r => r.AllowedHosts?.Any(p => PolicyHosts.Matches(p, host)) == true).ToList();
            if (listing.Count == 0)
            {
                throw AgentScopeException.Denied($"'{label}' may not be sent to {target}: no rule allowing use on it lists that host in allowedHosts");
            }

            if (!https && !(loopback && listing.Any(r => r.AllowHttpLoopback)))
            {
                throw AgentScopeException.Denied(
                    $"'{label}' may not be sent to {target}: only https, or plain http to a loopback host whose rule sets allowHttpLoopback");
            }

            var entry = await ReadLiveAsync(label, ct).ConfigureAwait(false);
            if (totpCode != (entry.Metadata.Kind == SecretKind.Totp))
            {
                if (totpCode)
                {
                    throw AgentScopeException.InvalidInput($"'{label}' is not a TOTP entry: send it with {{{{secret:{label}}}}}");
                }

                if (!decision.RevealSeed)
                {
                    throw AgentScopeException.Denied($"'{label}' holds a TOTP seed, which is not sent; send its current code with {{{{totp:{label}}}}}");
                }
            }

            var value = Decrypt(session, entry);
            return new SecretValue(totpCode ? Totp.Compute(TotpParameters.Parse(value), _core.Now).Code : value);
        }, audited: false, cancellationToken, detail: WithSurface($"use for {(https ? "https" : "http")}://{host}"));

    /// <summary>
    /// Records how an outbound request that used <paramref name="label"/> ended (method, URL template, status), after the
    /// fact: the value was already released under a fail-closed record by <c>UseAsync</c>, so this one is best effort.
    /// </summary>
    internal ValueTask AuditRequestAsync(string label, string outcome, string detail, string? reason) =>
        _core.AuditBestEffortAsync(_actor, AuditActions.Request, _agentId, label, outcome, _context, reason, WithSurface(detail));

    private string WithSurface(string detail) => _context.Surface is { Length: > 0 } surface ? $"{surface} {detail}" : detail;

    // A label is listed when a rule allows listing it and, if that rule asks for a justification, the call carries one:
    // otherwise requireJustification on list would be bypassed by the whole-vault listing, which has no label to check up front.
    private bool MayList(AgentSession session, string label, DateTimeOffset now)
    {
        var decision = session.Policy.Evaluate(VaultOperations.List, label, now);
        return decision.Allowed && (!decision.RequireJustification || !string.IsNullOrWhiteSpace(_context.Justification));
    }

    private async Task<BackendEntry> ReadLiveAsync(string label, CancellationToken ct)
    {
        var entry = await _core.Backend.GetAsync(new EntryKey(_agentId, label), ct).ConfigureAwait(false);
        if (entry is null || entry.Metadata.Key != new EntryKey(_agentId, label))
        {
            throw AgentScopeException.NotFound($"no label '{label}'");
        }

        if (entry.Metadata.ExpiresAt is { } exp && exp <= _core.Now)
        {
            throw AgentScopeException.NotFound($"label '{label}' has expired");
        }

        return entry;
    }

    private string Decrypt(AgentSession session, BackendEntry entry)
    {
        if (!entry.Metadata.Encrypted)
        {
            return Encoding.UTF8.GetString(entry.Value);
        }

        var cipher = session.Cipher ?? throw Revoked();
        return Encoding.UTF8.GetString(cipher.Decrypt(_agentId, entry.Metadata.Key.Label, entry.Metadata.Version, entry.Value));
    }

    private AgentScopeException Revoked() => new(ErrorKind.AgentRevoked, $"agent '{_agentId}' is revoked");

    private async ValueTask<AgentSession> SessionAsync(CancellationToken ct)
    {
        var session = await _core.Registry.GetSessionAsync(_agentId, ct).ConfigureAwait(false);
        if (session is null || !session.IsActive)
        {
            throw session is null ? AgentScopeException.Unauthenticated() : Revoked();
        }

        // A long-lived vault (MCP, CLI) notices a rotated-out or expired key within the identity cache TTL.
        if (_keyId is not null && !session.HasLiveKey(_keyId, _core.Now))
        {
            throw AgentScopeException.Unauthenticated("the API key has expired or was rotated out");
        }

        return session;
    }

    private async Task<T> RunAsync<T>(string action, VaultOperations op, string? label, Func<AgentSession, PolicyDecision, CancellationToken, Task<T>> body,
        bool audited, CancellationToken ct, string? detail = null)
    {
        try
        {
            // Only a whole-vault listing has no label; for every other operation a missing label is invalid input,
            // not the empty label (which a '*' rule would allow and the backend would store).
            if (label is not null || op != VaultOperations.List)
            {
                Names.ValidateLabel(label);
            }

            var session = await SessionAsync(ct).ConfigureAwait(false);
            var decision = _isAdmin || label is null && op == VaultOperations.List
                ? new PolicyDecision(true, null, false, false, true, null)
                : session.Policy.Evaluate(op, label ?? "", _core.Now);
            if (!_isAdmin && label is null && op == VaultOperations.List && !session.Policy.AllowsAny(VaultOperations.List, _core.Now))
            {
                decision = PolicyDecision.Deny("no rule allows list");
            }

            if (!decision.Allowed)
            {
                throw AgentScopeException.Denied(decision.Reason!);
            }

            if (decision.RequireJustification && string.IsNullOrWhiteSpace(_context.Justification))
            {
                throw AgentScopeException.Denied($"a justification is required for {VaultOperationNames.Name(op)} on '{label}'");
            }

            if (decision.ReadLimits is { Count: > 0 } limits && op is VaultOperations.Read or VaultOperations.Use or VaultOperations.Totp &&
                _core.RateLimiter.TryAcquire(_agentId, limits) is var (wait, rpm))
            {
                throw new AgentScopeException(ErrorKind.RateLimited, $"more than {rpm} reads per minute of '{label}'") { RetryAfter = wait };
            }

            var result = await body(session, decision, ct).ConfigureAwait(false);
            if (!audited)
            {
                await _core.Audit.WriteAsync(_actor, action, _agentId, label, AuditOutcomes.Ok, _context, detail: detail, ct: ct).ConfigureAwait(false);
            }

            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException && !AuditLog.IsAuditFailure(e))
        {
            var outcome = (e as AgentScopeException)?.Kind switch
            {
                ErrorKind.NotFound => AuditOutcomes.NotFound,
                ErrorKind.AccessDenied or ErrorKind.AgentRevoked or ErrorKind.Unauthenticated or ErrorKind.RateLimited => AuditOutcomes.Denied,
                _ => AuditOutcomes.Error,
            };
            var validLabel = label is null || Names.IsValidLabel(label);
            await _core.AuditBestEffortAsync(_actor, action, _agentId, validLabel ? label : null, outcome, _context,
                !validLabel ? "invalid label" : e is AgentScopeException a ? a.Message : "unexpected error").ConfigureAwait(false);
            throw;
        }
    }
}
