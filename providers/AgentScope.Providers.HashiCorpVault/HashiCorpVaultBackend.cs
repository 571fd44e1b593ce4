using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using AgentScope.Backends;
using AgentScope.Providers.HashiCorpVault.Internal;
using Microsoft.Extensions.Logging;

namespace AgentScope.Providers.HashiCorpVault;

/// <summary>
/// Stores AgentScope's entries in a HashiCorp Vault KV version 2 mount over Vault's HTTP API: entry (agent, label) lives at
/// <c>&lt;mount&gt;/data/&lt;root&gt;/agents/&lt;agent&gt;/&lt;label&gt;</c>, the registry at <c>&lt;root&gt;/agents/_registry/</c>.
/// Enumeration is a LIST of the agent's folder plus one metadata read per entry (no values are read). Registered with
/// <c>services.AddHashiCorpVault(...)</c> (<see cref="HashiCorpVaultServiceCollectionExtensions"/>).
/// </summary>
public sealed class HashiCorpVaultBackend : ISecretBackend, IDisposable
{
    private const int ListWindow = 64;

    private readonly VaultSettings _settings;
    private readonly VaultTransport _transport;
    private readonly VaultTokenSource _tokens;
    private readonly VaultPaths _paths;
    private readonly ILogger _logger;

    // The Vault version each registry record had when this process last read or wrote it, keyed by label; see RegistryCasAsync.
    private readonly ConcurrentDictionary<string, (long Version, long VaultVersion)> _registryVersions = new(StringComparer.Ordinal);

    internal HashiCorpVaultBackend(IHttpClientFactory httpClientFactory, VaultSettings settings, TimeProvider timeProvider, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
        _transport = new VaultTransport(httpClientFactory, settings, timeProvider, logger);
        _tokens = new VaultTokenSource(_transport, timeProvider, logger);
        _paths = new VaultPaths(settings.Mount, settings.RootPath);
        Capabilities = new BackendCapabilities
        {
            Name = "HashiCorpVault",
            MaxValueBytes = settings.MaxValueBytes,
            ServerSideFiltering = true,
            MaxConcurrency = settings.MaxConcurrency,
        };
    }

    /// <inheritdoc />
    public BackendCapabilities Capabilities { get; }

    internal VaultTokenSource Tokens => _tokens;

    /// <inheritdoc />
    public async ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        VaultPaths.Validate(key);
        var read = await ReadDataAsync(key, cancellationToken).ConfigureAwait(false);
        if (read is null)
        {
            Forget(key);
            return null;
        }

        var (map, versionMeta) = read.Value;
        var value = EntryCodec.Value(map);
        if (value is null)
        {
            return null;
        }

        var metadata = EntryCodec.Parse(key, map);
        if (metadata is null)
        {
            // A value someone put by hand (vault kv put .../label value=...) reads as a generic entry at Vault's version.
            var created = EntryCodec.VaultTime(versionMeta?.CreatedTime) ?? DateTimeOffset.UnixEpoch;
            metadata = new EntryMetadata(key, SecretKind.Generic, Math.Max(1, versionMeta?.Version ?? 1), created, created, null, Encrypted: false);
        }
        if (key.IsRegistry && versionMeta is not null)
        {
            _registryVersions[key.Label] = (metadata.Version, versionMeta.Version);
        }

        return new BackendEntry(metadata, value);
    }

    /// <inheritdoc />
    public async ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var key = entry.Metadata.Key;
        VaultPaths.Validate(key);
        if (entry.Value.Length > Capabilities.MaxValueBytes)
        {
            throw new AgentScopeException(ErrorKind.ValueTooLarge, $"value of {key.Label} exceeds {Capabilities.MaxValueBytes} bytes, the limit of the HashiCorp Vault backend");
        }

        // Registry records (agent identities, admin keys) are read-modify-written by the core, possibly by several
        // replicas at once: each write carries cas = the Vault version that the record had when its predecessor was
        // read, so a concurrent update makes this write fail (Conflict) instead of silently losing the other one.
        // Agent entries are last-write-wins, as on every other backend: an agent overwriting its own label wants the
        // newest value, and ISecretBackend has no "expected version" to check against.
        var data = EntryCodec.Data(entry);
        long? cas = key.IsRegistry ? await RegistryCasAsync(entry.Metadata, cancellationToken).ConfigureAwait(false) : null;
        var vaultVersion = await WriteDataAsync(key, data, cas, entry.Metadata.Version, cancellationToken).ConfigureAwait(false);
        await WriteCustomMetadataAsync(key, EntryCodec.CustomMetadata(entry.Metadata), cancellationToken).ConfigureAwait(false);
        if (key.IsRegistry)
        {
            _registryVersions[key.Label] = (entry.Metadata.Version, vaultVersion);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        VaultPaths.Validate(key);
        Forget(key);
        // DELETE metadata answers 204 whether or not the key existed; the read tells the caller which it was.
        if (await ReadMetadataAsync(key, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        var call = new VaultCall(HttpMethod.Delete, _paths.Metadata(key));
        var reply = await CallAsync(call, "delete", _paths.MetadataPolicyPath, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess && reply.Status != 404)
        {
            throw Failure(call, reply);
        }

        Forget(key);
        return true;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EntryMetadata> ListAsync(string ns, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!VaultPaths.IsNamespace(ns))
        {
            throw AgentScopeException.InvalidInput("invalid namespace");
        }

        var labels = (await ListKeysAsync(_paths.ListNamespace(ns), cancellationToken).ConfigureAwait(false))
            .Where(k => !k.EndsWith('/') && Names.IsValidLabel(k))
            .Order(StringComparer.Ordinal)
            .ToList();
        var options = new ParallelOptions { MaxDegreeOfParallelism = _settings.MaxConcurrency, CancellationToken = cancellationToken };
        for (var start = 0; start < labels.Count; start += ListWindow)
        {
            var window = labels.GetRange(start, Math.Min(ListWindow, labels.Count - start));
            var found = new EntryMetadata?[window.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, window.Count), options, async (i, ct) =>
                found[i] = await ReadEntryMetadataAsync(new EntryKey(ns, window[i]), ct).ConfigureAwait(false)).ConfigureAwait(false);
            foreach (var m in found)
            {
                if (m is not null)
                {
                    yield return m;
                }
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EntryMetadata> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var namespaces = (await ListKeysAsync(_paths.ListAgents, cancellationToken).ConfigureAwait(false))
            .Where(k => k.EndsWith('/'))
            .Select(k => k.TrimEnd('/'))
            .Where(VaultPaths.IsNamespace)
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var ns in namespaces)
        {
            await foreach (var m in ListAsync(ns, cancellationToken).ConfigureAwait(false))
            {
                yield return m;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        // standbyok/perfstandbyok: a standby behind a load balancer forwards requests, so it counts as ready.
        var health = new VaultCall(HttpMethod.Get, "sys/health", Query: "?standbyok=true&perfstandbyok=true");
        var reply = await _transport.SendAsync(health, token: null, cancellationToken, retry: false).ConfigureAwait(false);
        if (reply.Status != 200)
        {
            var state = reply.Status switch
            {
                501 => "not initialized",
                472 => "a disaster-recovery secondary",
                _ => "status " + reply.Status,
            };
            throw AgentScopeException.Unavailable($"Vault is not ready: {state}");
        }

        // The token must still be accepted (lookup-self), and the policy must allow listing AgentScope's folder.
        var lookup = new VaultCall(HttpMethod.Get, "auth/token/lookup-self");
        var self = await CallAsync(lookup, "read", "auth/token/lookup-self", cancellationToken).ConfigureAwait(false);
        if (!self.IsSuccess)
        {
            throw Failure(lookup, self);
        }

        await ListKeysAsync(_paths.ListAgents, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases the token source.</summary>
    public void Dispose() => _tokens.Dispose();

    private async Task<(Dictionary<string, string> Map, KvVersionMetadata? Version)?> ReadDataAsync(EntryKey key, CancellationToken cancellationToken)
    {
        var call = new VaultCall(HttpMethod.Get, _paths.Data(key));
        var reply = await CallAsync(call, "read", _paths.DataPolicyPath, cancellationToken).ConfigureAwait(false);
        if (reply.Status == 404)
        {
            // No such key, or its latest version was soft-deleted or destroyed: either way there is no value.
            return null;
        }

        if (!reply.IsSuccess)
        {
            throw Failure(call, reply);
        }

        var data = reply.Read(VaultJsonContext.Default.KvReadResponse, call).Data;
        return (data?.Data ?? new Dictionary<string, string>(StringComparer.Ordinal), data?.Metadata);
    }

    private async Task<KvMetadata?> ReadMetadataAsync(EntryKey key, CancellationToken cancellationToken)
    {
        var call = new VaultCall(HttpMethod.Get, _paths.Metadata(key));
        var reply = await CallAsync(call, "read", _paths.MetadataPolicyPath, cancellationToken).ConfigureAwait(false);
        if (reply.Status == 404)
        {
            return null;
        }

        return reply.IsSuccess ? reply.Read(VaultJsonContext.Default.KvMetadataResponse, call).Data : throw Failure(call, reply);
    }

    private async Task<EntryMetadata?> ReadEntryMetadataAsync(EntryKey key, CancellationToken cancellationToken)
    {
        var meta = await ReadMetadataAsync(key, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return null; // deleted between the LIST and this read
        }

        if (EntryCodec.Parse(key, meta.CustomMetadata) is { } parsed)
        {
            return parsed;
        }

        // No AgentScope custom_metadata: a write that stopped between its data and its metadata call, or an entry put
        // by hand. The data map carries the authoritative copy; failing that, describe the key from Vault's own metadata
        // so that revoke and sweep still find it.
        if (await ReadDataAsync(key, cancellationToken).ConfigureAwait(false) is { } read && EntryCodec.Parse(key, read.Map) is { } fromData)
        {
            return fromData;
        }

        var created = EntryCodec.VaultTime(meta.CreatedTime) ?? DateTimeOffset.UnixEpoch;
        return new EntryMetadata(key, SecretKind.Generic, Math.Max(1, meta.CurrentVersion), created,
            EntryCodec.VaultTime(meta.UpdatedTime) ?? created, null, Encrypted: false);
    }

    private async Task<List<string>> ListKeysAsync(string path, CancellationToken cancellationToken)
    {
        var call = new VaultCall(VaultCall.List, path);
        var reply = await CallAsync(call, "list", _paths.MetadataPolicyPath, cancellationToken).ConfigureAwait(false);
        if (reply.Status == 404)
        {
            return []; // Vault answers an empty LIST with 404 {"errors":[]}
        }

        return reply.IsSuccess ? reply.Read(VaultJsonContext.Default.ListResponse, call).Data?.Keys ?? [] : throw Failure(call, reply);
    }

    private async Task<long> RegistryCasAsync(EntryMetadata metadata, CancellationToken cancellationToken)
    {
        if (metadata.Version <= 1)
        {
            return 0; // a new record: written only if the key does not exist yet
        }

        var key = metadata.Key;
        if (_registryVersions.TryGetValue(key.Label, out var known) && known.Version == metadata.Version - 1)
        {
            return known.VaultVersion;
        }

        // Not read through this process (another replica, a restart): read it now; the data map is authoritative.
        if (await ReadDataAsync(key, cancellationToken).ConfigureAwait(false) is { } read
            && EntryCodec.Parse(key, read.Map) is { } current && current.Version == metadata.Version - 1 && read.Version is { } v)
        {
            return v.Version;
        }

        throw new AgentScopeException(ErrorKind.Conflict,
            $"registry record '{key.Label}' changed in Vault since version {metadata.Version - 1} was read; read it again and retry");
    }

    private async Task<long> WriteDataAsync(EntryKey key, Dictionary<string, string> data, long? cas, long version, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new KvWriteRequest { Data = data, Options = cas is { } c ? new KvWriteOptions { Cas = c } : null },
                VaultJsonContext.Default.KvWriteRequest);
            var call = new VaultCall(HttpMethod.Post, _paths.Data(key), body);
            var reply = await CallAsync(call, "create/update", _paths.DataPolicyPath, cancellationToken).ConfigureAwait(false);
            if (reply.IsSuccess)
            {
                var written = reply.Body.Length == 0 ? null : reply.Read(VaultJsonContext.Default.KvWriteResponse, call).Data;
                return written is { Version: > 0 } w
                    ? w.Version
                    : throw AgentScopeException.Unavailable($"Vault's answer to {call} has no version: is '{_settings.Mount}' a KV version 2 mount?");
            }

            var errors = reply.ErrorText();
            if (reply.Status == 400 && errors.Contains("check-and-set parameter did not match", StringComparison.Ordinal))
            {
                // A retried write whose first attempt landed (its answer lost) fails its own cas: that is not a conflict.
                if (await ReadDataAsync(key, cancellationToken).ConfigureAwait(false) is { } read && read.Version is { } v && SameContent(read.Map, data))
                {
                    return v.Version;
                }

                Forget(key);
                throw new AgentScopeException(ErrorKind.Conflict,
                    $"registry record '{key.Label}' changed in Vault since version {version - 1} was read (check-and-set failed); read it again and retry");
            }

            if (reply.Status == 400 && cas is null && attempt == 0 && errors.Contains("check-and-set parameter required", StringComparison.Ordinal))
            {
                // The mount or key has cas_required: write over whatever version is current (last-write-wins).
                cas = (await ReadMetadataAsync(key, cancellationToken).ConfigureAwait(false))?.CurrentVersion ?? 0;
                continue;
            }

            throw Failure(call, reply);
        }
    }

    private async Task WriteCustomMetadataAsync(EntryKey key, Dictionary<string, string> customMetadata, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new KvMetadataWriteRequest { CustomMetadata = customMetadata }, VaultJsonContext.Default.KvMetadataWriteRequest);
        var call = new VaultCall(HttpMethod.Post, _paths.Metadata(key), body);
        var reply = await CallAsync(call, "create/update", _paths.MetadataPolicyPath, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            throw Failure(call, reply);
        }
    }

    /// <summary>
    /// Sends an authenticated call. A 403 is either the token (expired, revoked: log in again once and retry) or the
    /// policy (report which capability on which path it lacks). Messages never hold the token.
    /// </summary>
    private async Task<VaultReply> CallAsync(VaultCall call, string capability, string policyPath, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
            var reply = await _transport.SendAsync(call, token, cancellationToken).ConfigureAwait(false);
            if (reply.Status != 403)
            {
                return reply;
            }

            if (await _tokens.IsRefusedAsync(token, reply, cancellationToken).ConfigureAwait(false))
            {
                if (attempt == 0 && await _tokens.RecoverAsync(token, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                throw new AgentScopeException(ErrorKind.BackendPermission, _tokens.CanLogin
                    ? $"Vault refused AgentScope's token for {call} even after a fresh {_settings.Method} login"
                    : $"Vault refused AgentScope's token for {call} (invalid, expired or revoked): issue a new token or use AppRole or Kubernetes login");
            }

            var where = _settings.Namespace is { } ns ? $" in namespace '{ns}'" : "";
            throw new AgentScopeException(ErrorKind.BackendPermission,
                $"Vault denied {call}{where}: the policy of AgentScope's token lacks \"{capability}\" on \"{policyPath}\"");
        }
    }

    private AgentScopeException Failure(VaultCall call, VaultReply reply) => reply.Status switch
    {
        413 => new AgentScopeException(ErrorKind.ValueTooLarge, $"Vault refused {call} as too large (413): lower MaxValueBytes to what its listener and storage accept"),
        405 => AgentScopeException.Unavailable($"Vault does not support {call} (405): is '{_settings.Mount}' a KV version 2 mount?"),
        _ => AgentScopeException.Unavailable($"Vault answered {reply.Status} to {call} ({reply.ErrorText()})", retryAfter: reply.RetryAfter),
    };

    private static bool SameContent(Dictionary<string, string> stored, Dictionary<string, string> written) =>
        stored.Count == written.Count && written.All(kv => stored.TryGetValue(kv.Key, out var s) && s == kv.Value);

    private void Forget(EntryKey key)
    {
        if (key.IsRegistry)
        {
            _registryVersions.TryRemove(key.Label, out _);
        }
    }
}
