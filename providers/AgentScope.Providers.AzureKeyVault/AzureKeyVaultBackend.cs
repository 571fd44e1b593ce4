using System.Runtime.CompilerServices;
using AgentScope.Backends;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>
/// An AgentScope backend on Azure Key Vault secrets, through the Azure SDK's <see cref="SecretClient"/>.
/// <list type="bullet">
/// <item>Each entry is one secret named <c>&lt;prefix&gt;-&lt;base32 SHA-256 of (namespace, label)&gt;</c>; the coordinate
/// and metadata live in tags, the value is the secret value (text, or base64 for ciphertext, marked by the content type).</item>
/// <item>Key Vault cannot filter a listing, so enumeration pages through every secret's properties (25 per request)
/// and keeps those whose tags say they are AgentScope's: <see cref="BackendCapabilities.ServerSideFiltering"/> is false.</item>
/// <item>Delete soft-deletes, waits for the deletion to complete, then purges; where purging is refused (purge
/// protection), the entry is still deleted and its retained copy is covered by the core's crypto-shredding.
/// Writing a label whose secret is still soft-deleted purges it (or recovers it, where purging is refused) and writes again.</item>
/// <item>Throttling (429 with Retry-After), 408, 5xx and network failures are retried by the SDK's pipeline as tuned by
/// <see cref="AzureKeyVaultOptions.Retry"/>, then surface as <see cref="ErrorKind.BackendUnavailable"/>; 401, 403 and
/// credential failures surface as <see cref="ErrorKind.BackendPermission"/> naming the missing data action.</item>
/// </list>
/// </summary>
public sealed class AzureKeyVaultBackend : ISecretBackend
{
    private readonly SecretClient _client;
    private readonly string _prefix;
    private readonly TimeSpan _pollingInterval;
    private readonly TimeSpan _softDeleteTimeout;
    private readonly ILogger _logger;

    /// <summary>Creates the backend. The options are validated here; every problem is reported in one invalid-input error.</summary>
    /// <param name="options">The vault, credential and tuning.</param>
    /// <param name="logger">Where purge refusals and skipped secrets are reported; null for none.</param>
    public AzureKeyVaultBackend(AzureKeyVaultOptions options, ILogger<AzureKeyVaultBackend>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _prefix = options.NamePrefix.ToLowerInvariant();
        _pollingInterval = options.DeletePollingInterval;
        _softDeleteTimeout = options.SoftDeleteTimeout;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        var clientOptions = new SecretClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.Retry.MaxRetries;
        clientOptions.Retry.Delay = options.Retry.Delay;
        clientOptions.Retry.MaxDelay = options.Retry.MaxDelay;
        clientOptions.Retry.NetworkTimeout = options.Retry.NetworkTimeout;
        options.ConfigureClient?.Invoke(clientOptions);

        var credential = options.Credential ?? new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            TenantId = options.TenantId,
            ManagedIdentityClientId = options.ManagedIdentityClientId,
        });
        _client = new SecretClient(options.VaultUri!, credential, clientOptions);

        Capabilities = new BackendCapabilities
        {
            Name = "AzureKeyVault",
            MaxValueBytes = ValueCodec.MaxValueBytes,
            ServerSideFiltering = false,
            MaxConcurrency = options.MaxConcurrency,
        };
    }

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="BackendCapabilities.MaxValueBytes"/> is 19,200: Key Vault keeps at most 25,600 characters, and base64 of
    /// 19,200 bytes of ciphertext is exactly that, so a value of the declared size fits whether or not it is encrypted.
    /// </remarks>
    public BackendCapabilities Capabilities { get; }

    /// <summary>The vault this backend talks to.</summary>
    public Uri VaultUri => _client.VaultUri;

    /// <inheritdoc />
    public async ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        var name = NameOf(key);
        KeyVaultSecret secret;
        try
        {
            secret = (await _client.GetSecretAsync(name, version: null, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.Get, key.Label, cancellationToken) is { } mapped)
        {
            throw mapped;
        }

        if (!EntryTags.TryParse(secret.Properties.Tags, out var metadata) || metadata.Key != key)
        {
            // Only someone writing to AgentScope's own names by hand can cause this; never hand out what we cannot vouch for.
            _logger.LogWarning("Key Vault secret {SecretName} has AgentScope's name for '{Label}' but not its tags; treated as absent", name, key.Label);
            return null;
        }

        byte[] value;
        try
        {
            value = ValueCodec.Decode(secret.Value, secret.Properties.ContentType);
        }
        catch (FormatException e)
        {
            throw new AgentScopeException(ErrorKind.BackendPermission, $"the stored value of '{key.Label}' in Azure Key Vault is not valid base64 (altered outside AgentScope)", e);
        }

        return new BackendEntry(metadata, value);
    }

    /// <inheritdoc />
    public async ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var key = entry.Metadata.Key;
        if (entry.Value.Length > ValueCodec.MaxValueBytes)
        {
            throw new AgentScopeException(ErrorKind.ValueTooLarge,
                $"the value of '{key.Label}' is {entry.Value.Length} bytes; the Azure Key Vault backend stores at most {ValueCodec.MaxValueBytes} " +
                $"(Key Vault keeps {ValueCodec.ServiceMaxValueChars} characters, and ciphertext is stored as base64)");
        }

        var (text, contentType) = ValueCodec.Encode(entry.Value, entry.Metadata.Encrypted);
        var secret = new KeyVaultSecret(NameOf(key), text);
        secret.Properties.ContentType = contentType;
        foreach (var (tag, value) in EntryTags.From(entry.Metadata))
        {
            secret.Properties.Tags[tag] = value;
        }

        var deadline = DateTimeOffset.UtcNow + _softDeleteTimeout;
        var delay = _pollingInterval;
        while (true)
        {
            RequestFailedException conflict;
            try
            {
                await _client.SetSecretAsync(secret, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // The name is soft-deleted (ObjectIsDeletedButRecoverable) or still being deleted or purged (ObjectIsBeingDeleted).
                conflict = e;
            }
            catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.Set, key.Label, cancellationToken) is { } mapped)
            {
                throw mapped;
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw AgentScopeException.Unavailable(
                    $"the Key Vault name of '{key.Label}' stayed in a deleted state for {_softDeleteTimeout.TotalSeconds:0} seconds; retry later", conflict);
            }

            await MakeNameReusableAsync(secret.Name, key.Label, cancellationToken).ConfigureAwait(false);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _pollingInterval.Ticks * 8));
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        var name = NameOf(key);
        DeleteSecretOperation operation;
        try
        {
            operation = await _client.StartDeleteSecretAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
        catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.Delete, key.Label, cancellationToken) is { } mapped)
        {
            throw mapped;
        }

        // Without soft delete there is no recovery id and the secret is already gone.
        if (operation.Value.RecoveryId is null)
        {
            return true;
        }

        // The service deletes asynchronously: purging before the deleted secret is visible fails with 409.
        if (!await WaitAsync(operation, KeyVaultOperation.Delete, key.Label, cancellationToken).ConfigureAwait(false))
        {
            _logger.LogWarning("the soft delete of {SecretName} ('{Label}') did not complete in {Timeout}; it is deleted but not purged", name, key.Label, _softDeleteTimeout);
            return true;
        }

        await PurgeAsync(name, key.Label, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    /// <remarks>Pages through every secret of the vault (one request per 25 secrets) and keeps this namespace's.</remarks>
    public IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return EnumerateAsync(ns, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Pages through every secret of the vault (one request per 25 secrets) and keeps AgentScope's.</remarks>
    public IAsyncEnumerable<EntryMetadata> ListAllAsync(CancellationToken cancellationToken = default) => EnumerateAsync(null, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Reads the first page of secret properties (one request): proves the vault answers, the token is accepted and the identity may list (readMetadata).</remarks>
    public async ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await foreach (var _ in _client.GetPropertiesOfSecretsAsync(cancellationToken).AsPages().ConfigureAwait(false))
            {
                break;
            }
        }
        catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.List, null, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    internal string NameOf(EntryKey key) => SecretNaming.NameOf(_prefix, key);

    private async IAsyncEnumerable<EntryMetadata> EnumerateAsync(string? ns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var enumerator = _client.GetPropertiesOfSecretsAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await enumerator.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.List, null, cancellationToken) is { } mapped)
                {
                    throw mapped;
                }

                if (!more)
                {
                    yield break;
                }

                if (Recognise(enumerator.Current) is { } metadata && (ns is null || metadata.Key.Namespace == ns))
                {
                    yield return metadata;
                }
            }
        }
    }

    // A secret is AgentScope's when it carries a full tag set whose coordinate maps back to its very name: secrets
    // of other applications, another prefix, or with copied tags are skipped.
    private EntryMetadata? Recognise(SecretProperties properties)
    {
        if (!properties.Name.StartsWith(_prefix + "-", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!EntryTags.TryParse(properties.Tags, out var metadata) || !string.Equals(NameOf(metadata.Key), properties.Name, StringComparison.OrdinalIgnoreCase))
        {
            _logger.LogDebug("Key Vault secret {SecretName} has AgentScope's prefix but not matching AgentScope tags; skipped", properties.Name);
            return null;
        }

        return metadata;
    }

    private async Task PurgeAsync(string name, string label, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + _softDeleteTimeout;
        var delay = _pollingInterval;
        while (true)
        {
            try
            {
                await _client.PurgeDeletedSecretAsync(name, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return; // purged already
            }
            catch (RequestFailedException e) when (e.Status == 403)
            {
                LogPurgeRefused(name, label, e);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // "Secret is currently being deleted": the deletion the operation reported is still settling.
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    _logger.LogWarning("{SecretName} ('{Label}') is deleted but could not be purged within {Timeout}; it stays soft-deleted", name, label, _softDeleteTimeout);
                    return;
                }
            }
            catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.Purge, label, cancellationToken) is { } mapped)
            {
                throw mapped;
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _pollingInterval.Ticks * 8));
        }
    }

    // The name is soft-deleted: purge it (its old versions are of no use to anyone) or, where purging is refused,
    // recover it so the write can add a version on top. Being deleted or purged already: the caller waits and retries.
    private async Task MakeNameReusableAsync(string name, string label, CancellationToken cancellationToken)
    {
        try
        {
            await _client.PurgeDeletedSecretAsync(name, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 409)
        {
            return;
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            LogPurgeRefused(name, label, e);
        }
        catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.Purge, label, cancellationToken) is { } mapped)
        {
            throw mapped;
        }

        try
        {
            var recovery = await _client.StartRecoverDeletedSecretAsync(name, cancellationToken).ConfigureAwait(false);
            await WaitAsync(recovery, KeyVaultOperation.Recover, label, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 409)
        {
            // Recovered or purged meanwhile by someone else: the next write tells.
        }
        catch (Exception e) when (KeyVaultErrors.Map(e, KeyVaultOperation.Recover, label, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    // Polls the operation (Get Deleted Secret for a delete, Get Secret for a recovery) at our own interval until it
    // completes or the timeout passes. Not WaitForCompletionAsync(interval): in this SDK version it measured ~1 s
    // between polls whatever the interval, so the interval would not be the operator's to tune.
    private async Task<bool> WaitAsync<T>(Operation<T> operation, KeyVaultOperation kind, string label, CancellationToken cancellationToken)
        where T : notnull
    {
        var deadline = DateTimeOffset.UtcNow + _softDeleteTimeout;
        try
        {
            while (true)
            {
                await operation.UpdateStatusAsync(cancellationToken).ConfigureAwait(false);
                if (operation.HasCompleted)
                {
                    return true;
                }

                if (DateTimeOffset.UtcNow >= deadline)
                {
                    return false;
                }

                await Task.Delay(_pollingInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (KeyVaultErrors.Map(e, kind, label, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    private void LogPurgeRefused(string name, string label, RequestFailedException e) =>
        _logger.LogWarning(
            "purging {SecretName} ('{Label}') was refused ({Status} {Code}): purge protection is on, or the identity lacks '{DataAction}'. " +
            "The entry is deleted; its soft-deleted copy stays until the vault's retention period ends (unreadable once the owner's data key is destroyed, when client-side encryption is on)",
            name, label, e.Status, e.ErrorCode, KeyVaultErrors.Requirement(KeyVaultOperation.Purge).DataAction);
}
