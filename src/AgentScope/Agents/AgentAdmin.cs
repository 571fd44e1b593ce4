using System.Security.Cryptography;
using AgentScope.Audit;
using AgentScope.Backends;

namespace AgentScope;

/// <summary>
/// Administration: create agents, set policy, rotate keys, revoke (cascade), sweep orphans, and act on an agent's vault.
/// Obtained from <see cref="AgentScopeAuthenticator.AuthenticateAdminAsync"/> (or for local use, <c>AgentScopeAuthenticator.LocalAdmin</c>).
/// </summary>
public sealed class AgentAdmin
{
    private readonly VaultCore _core;
    private readonly string _actor;
    private readonly AccessContext _context;

    internal AgentAdmin(VaultCore core, string actor, AccessContext context)
    {
        _core = core;
        _actor = actor;
        _context = context;
    }

    /// <summary>The actor recorded in the audit trail (<c>admin:&lt;keyid&gt;</c> or <c>admin:local</c>).</summary>
    public string Actor => _actor;

    /// <summary>Creates an agent with its own data key and one API key, returned once. A revoked id may be reused.</summary>
    public async Task<CreatedAgent> CreateAgentAsync(string id, string? name = null, AgentPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        return await AuditedAsync(AuditActions.AgentCreate, id, async (commit, ct) =>
        {
            Names.ValidateAgentId(id);
            if (name is { Length: > 200 })
            {
                throw AgentScopeException.InvalidInput("name must be at most 200 characters");
            }

            policy ??= AgentPolicy.FullControl();
            policy.Validate();
            using var gate = await _core.Registry.LockAgentAsync(id, ct).ConfigureAwait(false);
            var existing = await _core.Registry.GetRecordAsync(id, ct).ConfigureAwait(false);
            if (existing is { Status: not AgentStatus.Revoked })
            {
                throw new AgentScopeException(ErrorKind.Conflict, existing.Status == AgentStatus.Active
                    ? $"agent '{id}' already exists"
                    : $"agent '{id}' is being revoked; run sweep to finish, then create it again");
            }

            var now = _core.Now;
            var (token, key) = Agents.ApiKeys.NewAgentKey(id, now);
            var dataKey = RandomNumberGenerator.GetBytes(Crypto.MasterKey.Size);
            var record = new Agents.AgentRecord
            {
                Id = id,
                Name = name,
                Status = AgentStatus.Active,
                CreatedAt = now,
                Policy = policy,
                Keys = [key],
                WrappedDataKey = _core.Registry.MasterKey.Wrap(dataKey, id),
            };
            CryptographicOperations.ZeroMemory(dataKey);
            await commit().ConfigureAwait(false);
            await _core.Registry.SaveAsync(record, ct).ConfigureAwait(false);
            return new CreatedAgent(ToInfo(record), token);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every agent, revoked ones included.</summary>
    public async Task<IReadOnlyList<AgentInfo>> ListAgentsAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<AgentInfo>();
        await foreach (var r in _core.Registry.ListRecordsAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(ToInfo(r));
        }

        return list;
    }

    /// <summary>One agent.</summary>
    public async Task<AgentInfo> GetAgentAsync(string id, CancellationToken cancellationToken = default)
    {
        Names.ValidateAgentId(id);
        return ToInfo(await RequireAsync(id, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Replaces an agent's policy. Takes effect on this process at once, on others within the identity cache TTL.</summary>
    public Task<AgentInfo> SetPolicyAsync(string id, AgentPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return AuditedAsync(AuditActions.AgentPolicy, id, async (commit, ct) =>
        {
            Names.ValidateAgentId(id);
            policy.Validate();
            using var gate = await _core.Registry.LockAgentAsync(id, ct).ConfigureAwait(false);
            var record = await RequireActiveAsync(id, ct).ConfigureAwait(false);
            record.Policy = policy;
            await commit().ConfigureAwait(false);
            await _core.Registry.SaveAsync(record, ct).ConfigureAwait(false);
            return ToInfo(record);
        }, cancellationToken);
    }

    /// <summary>
    /// Issues a new API key (returned once). Existing keys keep working for <paramref name="grace"/>
    /// (default <see cref="AgentScopeOptions.KeyRotationGrace"/>; zero ends them now).
    /// </summary>
    public Task<string> RotateKeyAsync(string id, TimeSpan? grace = null, CancellationToken cancellationToken = default) =>
        AuditedAsync(AuditActions.AgentRotateKey, id, async (commit, ct) =>
        {
            Names.ValidateAgentId(id);
            var g = grace ?? _core.Options.KeyRotationGrace;
            if (g < TimeSpan.Zero)
            {
                throw AgentScopeException.InvalidInput("grace must not be negative");
            }

            using var gate = await _core.Registry.LockAgentAsync(id, ct).ConfigureAwait(false);
            var record = await RequireActiveAsync(id, ct).ConfigureAwait(false);
            var now = _core.Now;
            var until = now + g;
            record.Keys = record.Keys
                .Where(k => k.ExpiresAt is not { } e || e > now)
                .Select(k => k with { ExpiresAt = k.ExpiresAt is { } e && e < until ? e : until })
                .ToList();
            var (token, key) = Agents.ApiKeys.NewAgentKey(id, now);
            record.Keys.Add(key);
            await commit().ConfigureAwait(false);
            await _core.Registry.SaveAsync(record, ct).ConfigureAwait(false);
            return token;
        }, cancellationToken);

    /// <summary>
    /// Revokes an agent: marks it <see cref="AgentStatus.Revoking"/> and destroys its data key in one registry write (keys fail
    /// at once, every stored copy becomes unreadable), deletes every entry, verifies by re-enumeration, then marks it Revoked.
    /// If the process dies midway, <see cref="SweepAsync"/> finishes. Returns how many entries were destroyed.
    /// </summary>
    public Task<int> RevokeAsync(string id, CancellationToken cancellationToken = default) =>
        AuditedAsync(AuditActions.AgentRevoke, id, async (commit, ct) =>
        {
            Names.ValidateAgentId(id);
            using var gate = await _core.Registry.LockAgentAsync(id, ct).ConfigureAwait(false);
            var record = await RequireAsync(id, ct).ConfigureAwait(false);
            if (record.Status == AgentStatus.Revoked)
            {
                throw new AgentScopeException(ErrorKind.Conflict, $"agent '{id}' is already revoked");
            }

            await commit().ConfigureAwait(false);
            if (record.Status == AgentStatus.Active)
            {
                record.Status = AgentStatus.Revoking;
                record.RevokedAt = _core.Now;
                record.WrappedDataKey = null;
                record.Keys = [];
                await _core.Registry.SaveAsync(record, ct).ConfigureAwait(false);
            }

            return await FinishRevokeAsync(record, ct).ConfigureAwait(false);
        }, cancellationToken, detailOf: n => $"destroyed={n}");

    /// <summary>
    /// Finishes interrupted revokes and deletes orphans: managed entries whose owner is missing or not Active.
    /// With <paramref name="dryRun"/>, only reports.
    /// </summary>
    public Task<SweepReport> SweepAsync(bool dryRun = false, CancellationToken cancellationToken = default) =>
        AuditedAsync(AuditActions.Sweep, null, async (commit, ct) =>
        {
            // Entries first, owners second: an agent is saved before any of its entries, so every entry seen here has its
            // owner's record in the snapshot below, even when the agent was created while this sweep was running.
            var entries = new List<EntryKey>();
            await foreach (var m in _core.Backend.ListAllAsync(ct).ConfigureAwait(false))
            {
                if (!m.Key.IsRegistry)
                {
                    entries.Add(m.Key);
                }
            }

            var records = new Dictionary<string, Agents.AgentRecord>(StringComparer.Ordinal);
            await foreach (var r in _core.Registry.ListRecordsAsync(ct).ConfigureAwait(false))
            {
                records[r.Id] = r;
            }

            var orphans = entries.Where(k => !(records.TryGetValue(k.Namespace, out var owner) && owner.Status == AgentStatus.Active)).ToList();

            var interrupted = records.Values.Where(r => r.Status == AgentStatus.Revoking).Select(r => r.Id).ToList();
            if (dryRun)
            {
                return new SweepReport(interrupted, orphans.Count, 0, DryRun: true);
            }

            await commit().ConfigureAwait(false);
            var deleted = await DeleteAllAsync(orphans, ct).ConfigureAwait(false);
            foreach (var id in interrupted)
            {
                // Re-read under the lock: a revoke may have finished, and the id been created anew, since the snapshot.
                using var gate = await _core.Registry.LockAgentAsync(id, ct).ConfigureAwait(false);
                if (await _core.Registry.GetRecordAsync(id, ct).ConfigureAwait(false) is { Status: AgentStatus.Revoking } record)
                {
                    deleted += await FinishRevokeAsync(record, ct).ConfigureAwait(false);
                }
            }

            return new SweepReport(interrupted, orphans.Count, deleted, DryRun: false);
        }, cancellationToken, detailOf: r => $"orphans={r.OrphansFound} deleted={r.Deleted} finished={r.RevokesFinished.Count}");

    /// <summary>The vault of an agent, acting as this administrator: label policy does not apply, TOTP seeds stay hidden, everything is audited.</summary>
    public async Task<AgentVault> OpenVaultAsync(string agentId, CancellationToken cancellationToken = default)
    {
        Names.ValidateAgentId(agentId);
        var record = await RequireAsync(agentId, cancellationToken).ConfigureAwait(false);
        if (record.Status != AgentStatus.Active)
        {
            throw new AgentScopeException(ErrorKind.AgentRevoked, $"agent '{agentId}' is revoked");
        }

        return new AgentVault(_core, agentId, keyId: null, _actor, isAdmin: true, _context);
    }

    /// <summary>Issues another admin key (returned once).</summary>
    public Task<string> CreateAdminKeyAsync(CancellationToken cancellationToken = default) =>
        AuditedAsync(AuditActions.Init, null, async (commit, ct) =>
        {
            await commit().ConfigureAwait(false);
            return await AgentScopeAuthenticator.AddAdminKeyAsync(_core, ct).ConfigureAwait(false);
        }, cancellationToken);

    private async Task<int> FinishRevokeAsync(Agents.AgentRecord record, CancellationToken ct)
    {
        var destroyed = 0;
        // Re-enumerate until empty: a store that raced the status change may have landed after the first pass.
        for (var pass = 0; pass < 5; pass++)
        {
            var keys = new List<EntryKey>();
            await foreach (var m in _core.Backend.ListAsync(record.Id, ct).ConfigureAwait(false))
            {
                keys.Add(m.Key);
            }

            if (keys.Count == 0)
            {
                record.Status = AgentStatus.Revoked;
                await _core.Registry.SaveAsync(record, ct).ConfigureAwait(false);
                return destroyed;
            }

            destroyed += await DeleteAllAsync(keys, ct).ConfigureAwait(false);
        }

        throw AgentScopeException.Unavailable($"entries of agent '{record.Id}' keep reappearing; the agent stays Revoking and sweep will retry");
    }

    private async Task<int> DeleteAllAsync(IReadOnlyList<EntryKey> keys, CancellationToken ct)
    {
        var deleted = 0;
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = _core.Concurrency, CancellationToken = ct }, async (key, c) =>
        {
            if (await _core.Backend.DeleteAsync(key, c).ConfigureAwait(false))
            {
                Interlocked.Increment(ref deleted);
            }
        }).ConfigureAwait(false);
        return deleted;
    }

    private async Task<Agents.AgentRecord> RequireAsync(string id, CancellationToken ct) =>
        await _core.Registry.GetRecordAsync(id, ct).ConfigureAwait(false) ?? throw AgentScopeException.NotFound($"no agent '{id}'");

    private async Task<Agents.AgentRecord> RequireActiveAsync(string id, CancellationToken ct)
    {
        var record = await RequireAsync(id, ct).ConfigureAwait(false);
        return record.Status == AgentStatus.Active ? record : throw new AgentScopeException(ErrorKind.AgentRevoked, $"agent '{id}' is revoked");
    }

    /// <summary>
    /// Runs an admin operation with its audit records. The body calls <c>commit</c> right before its first change: the record is
    /// written then, so a failing sink refuses the change (fail-closed). A failure after that adds an error record.
    /// </summary>
    private async Task<T> AuditedAsync<T>(string action, string? agentId, Func<Func<ValueTask>, CancellationToken, Task<T>> body, CancellationToken ct,
        Func<T, string>? detailOf = null)
    {
        var context = _context.RequestId is null ? _context with { RequestId = "op-" + Guid.NewGuid().ToString("N")[..16] } : _context;
        var committed = false;
        ValueTask Commit()
        {
            committed = true;
            return _core.Audit.WriteAsync(_actor, action, agentId, null, AuditOutcomes.Ok, context, ct: ct);
        }

        T result;
        try
        {
            result = await body(Commit, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && !Audit.AuditLog.IsAuditFailure(e))
        {
            var outcome = e is AgentScopeException { Kind: ErrorKind.NotFound } ? AuditOutcomes.NotFound : AuditOutcomes.Error;
            await _core.AuditBestEffortAsync(_actor, action, Names.IsValidAgentId(agentId) ? agentId : null, null, outcome, context,
                e is AgentScopeException a ? a.Message : "unexpected error").ConfigureAwait(false);
            throw;
        }

        if (!committed || detailOf is not null)
        {
            await _core.Audit.WriteAsync(_actor, action, agentId, null, AuditOutcomes.Ok, context, detail: detailOf?.Invoke(result), ct: CancellationToken.None).ConfigureAwait(false);
        }

        return result;
    }

    internal static AgentInfo ToInfo(Agents.AgentRecord r) => new(r.Id, r.Name, r.Status, r.CreatedAt, r.RevokedAt, r.Policy,
        r.Keys.Select(k => new ApiKeyInfo(k.KeyId, k.CreatedAt, k.ExpiresAt)).ToList());
}

/// <summary>What a sweep found and did.</summary>
/// <param name="RevokesFinished">Agents found in <see cref="AgentStatus.Revoking"/> (finished unless a dry run).</param>
/// <param name="OrphansFound">Entries whose owner is missing or not Active.</param>
/// <param name="Deleted">Entries deleted.</param>
/// <param name="DryRun">True when nothing was changed.</param>
public sealed record SweepReport(IReadOnlyList<string> RevokesFinished, int OrphansFound, int Deleted, bool DryRun);
