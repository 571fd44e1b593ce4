using System.Runtime.CompilerServices;
using AgentScope.Backends;

namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// AgentScope's entries as AWS Secrets Manager secrets named <c>{Prefix}/{agent}/{label}</c>, each holding a JSON envelope
/// (value and metadata) and tagged with AgentScope's marker, coordinate and metadata so enumeration reads no values.
/// Speaks the documented JSON protocol with SigV4; credentials and region come from the AWS SDK's standard chain.
/// See docs/providers/aws-secrets-manager.md for the IAM policy, deletion semantics and costs.
/// </summary>
public sealed class AwsSecretsManagerBackend : ISecretBackend, IDisposable
{
    private const int PageSize = 100; // ListSecrets' MaxResults ceiling
    private const int MaxWriteRounds = 6;

    private readonly AwsSecretsManagerOptions _options;
    private readonly SecretLayout _layout;
    private readonly SecretsManagerClient _client;
    private readonly TimeProvider _time;

    /// <summary>Creates the backend with clients from <paramref name="httpClientFactory"/> (the registration's named client).</summary>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="httpClientFactory">Makes the HTTP clients, so handlers are pooled and rotated.</param>
    /// <param name="timeProvider">The clock used for signing and retry delays; <see cref="TimeProvider.System"/> when null.</param>
    public AwsSecretsManagerBackend(AwsSecretsManagerOptions options, IHttpClientFactory httpClientFactory, TimeProvider? timeProvider = null)
        : this(options, CreateClientFactory(httpClientFactory), timeProvider)
    {
    }

    /// <summary>Creates the backend over one caller-owned <see cref="HttpClient"/> (for hosts without dependency injection).</summary>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="httpClient">The client every call goes through; not disposed by the backend.</param>
    /// <param name="timeProvider">The clock used for signing and retry delays; <see cref="TimeProvider.System"/> when null.</param>
    public AwsSecretsManagerBackend(AwsSecretsManagerOptions options, HttpClient httpClient, TimeProvider? timeProvider = null)
        : this(options, CreateClientFactory(httpClient), timeProvider)
    {
    }

    private AwsSecretsManagerBackend(AwsSecretsManagerOptions options, Func<HttpClient> httpClient, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _layout = new SecretLayout(options.Prefix);
        _client = new SecretsManagerClient(options, httpClient, new AwsEnvironment(options), _time);
        Capabilities = new BackendCapabilities
        {
            Name = "AwsSecretsManager",
            MaxValueBytes = SecretLayout.MaxValueBytes,
            ServerSideFiltering = true,
            MaxConcurrency = options.MaxConcurrency,
        };
    }

    /// <inheritdoc />
    public BackendCapabilities Capabilities { get; }

    /// <inheritdoc />
    public async ValueTask<BackendEntry?> GetAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        var name = NameOf(key);
        GetSecretValueResponse response;
        try
        {
            response = await _client.SendAsync("GetSecretValue", name, new SecretIdRequest { SecretId = name },
                ProtocolJson.Default.SecretIdRequest, ProtocolJson.Default.GetSecretValueResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceError e) when (e.Type == "ResourceNotFoundException")
        {
            return null;
        }
        catch (AwsServiceError e) when (e.Type == "InvalidRequestException")
        {
            // Without a version argument, the one state GetSecretValue refuses is "marked for deletion": that reads as missing.
            return null;
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, name);
        }

        // A name that ends like "-abc123" can be taken for a partial ARN; only the exact secret is this entry.
        if (response.Name is not null && response.Name != name)
        {
            return null;
        }

        return ReadEntry(key, name, response);
    }

    /// <inheritdoc />
    public async ValueTask PutAsync(BackendEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var key = entry.Metadata.Key;
        var name = NameOf(key);
        if (entry.Value.Length > Capabilities.MaxValueBytes)
        {
            throw new AgentScopeException(ErrorKind.ValueTooLarge,
                $"the value of '{key.Label}' is {entry.Value.Length} bytes; AWS Secrets Manager holds at most {Capabilities.MaxValueBytes} (65,536 bytes with AgentScope's envelope)");
        }

        var envelope = SecretLayout.Envelope(entry) ?? throw new AgentScopeException(ErrorKind.ValueTooLarge,
            $"the value of '{key.Label}' does not fit AWS Secrets Manager's 65,536-byte secret");
        var tags = SecretLayout.Tags(entry.Metadata);

        // One token for every attempt of this write: if an answer is lost and the write is sent again, AWS sees the same
        // version and does not make a second one.
        var token = Guid.NewGuid().ToString();
        var lastRefusal = "ResourceExistsException";
        for (var round = 0; round < MaxWriteRounds; round++)
        {
            try
            {
                await _client.SendAsync("CreateSecret", name, new CreateSecretRequest
                {
                    Name = name,
                    ClientRequestToken = token,
                    Description = SecretLayout.Description(key),
                    KmsKeyId = _options.KmsKeyId,
                    SecretString = envelope,
                    Tags = tags,
                }, ProtocolJson.Default.CreateSecretRequest, ProtocolJson.Default.EmptyResponse, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (AwsServiceError e) when (e.Type == "ResourceExistsException")
            {
                lastRefusal = e.Type;
                // It exists (or a concurrent store just made it): a new version of the same secret.
                if (await TryOverwriteAsync(name, token, envelope, tags, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (AwsServiceError e) when (e.Type == "InvalidRequestException")
            {
                lastRefusal = e.Type;
                // The name belongs to a secret scheduled for deletion (AWS keeps it reserved until it is purged).
                if (await TryRestoreAndOverwriteAsync(name, token, envelope, tags, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (AwsServiceError e)
            {
                throw Unexpected(e, name);
            }

            // Deleted or purged between two calls: start over after a short pause.
            await Task.Delay(TimeSpan.FromMilliseconds(50 << round), _time, cancellationToken).ConfigureAwait(false);
        }

        throw AgentScopeException.Unavailable(lastRefusal == "InvalidRequestException"
            ? $"AWS Secrets Manager would not create '{name}' ({lastRefusal} {MaxWriteRounds} times): a secret of that name is still being deleted, or the account refuses it (a disabled KMS key, say); try again later"
            : $"AWS Secrets Manager is unavailable: '{name}' kept changing state (created, deleted or purged) while it was being written; try again");
    }

    /// <summary>PutSecretValue then TagResource; false when the secret vanished or went to deletion meanwhile (start over).</summary>
    private async Task<bool> TryOverwriteAsync(string name, string token, string envelope, List<Tag> tags, CancellationToken cancellationToken)
    {
        try
        {
            await _client.SendAsync("PutSecretValue", name, new PutSecretValueRequest { SecretId = name, ClientRequestToken = token, SecretString = envelope },
                ProtocolJson.Default.PutSecretValueRequest, ProtocolJson.Default.EmptyResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceError e) when (e.Type is "ResourceNotFoundException" or "InvalidRequestException")
        {
            return false;
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, name);
        }

        await TagAsync(name, tags, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// RestoreSecret, then the new value over the restored one. Should the overwrite fail, the secret is deleted again so
    /// that the old value does not come back; false when it could not be restored (purged meanwhile, or force-deleted and
    /// still being purged).
    /// </summary>
    private async Task<bool> TryRestoreAndOverwriteAsync(string name, string token, string envelope, List<Tag> tags, CancellationToken cancellationToken)
    {
        try
        {
            await _client.SendAsync("RestoreSecret", name, new SecretIdRequest { SecretId = name },
                ProtocolJson.Default.SecretIdRequest, ProtocolJson.Default.EmptyResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceError e) when (e.Type is "ResourceNotFoundException" or "InvalidRequestException")
        {
            return false;
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, name);
        }

        try
        {
            return await TryOverwriteAsync(name, token, envelope, tags, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await DeleteSecretAsync(name, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AgentScopeException or AwsServiceError)
            {
                // The write's own failure is what the caller needs to see.
            }

            throw;
        }
    }

    private async Task TagAsync(string name, List<Tag> tags, CancellationToken cancellationToken)
    {
        try
        {
            await _client.SendAsync("TagResource", name, new TagResourceRequest { SecretId = name, Tags = tags },
                ProtocolJson.Default.TagResourceRequest, ProtocolJson.Default.EmptyResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, name);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(EntryKey key, CancellationToken cancellationToken = default)
    {
        var name = NameOf(key);

        // A forced DeleteSecret succeeds for a secret that does not exist, so existence is asked first.
        DescribeSecretResponse described;
        try
        {
            described = await _client.SendAsync("DescribeSecret", name, new SecretIdRequest { SecretId = name },
                ProtocolJson.Default.SecretIdRequest, ProtocolJson.Default.DescribeSecretResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceError e) when (e.Type == "ResourceNotFoundException")
        {
            return false;
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, name);
        }

        if (described.Name is not null && described.Name != name)
        {
            return false;
        }

        if (described.DeletedDate is not null)
        {
            // Already waiting for deletion, so already gone as far as AgentScope is concerned. Without a recovery window
            // configured, purge it now so the name is free again.
            if (_options.RecoveryWindowDays is null)
            {
                await DeleteSecretAsync(name, cancellationToken).ConfigureAwait(false);
            }

            return false;
        }

        return await DeleteSecretAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> DeleteSecretAsync(string name, CancellationToken cancellationToken)
    {
        var request = _options.RecoveryWindowDays is { } days
            ? new DeleteSecretRequest { SecretId = name, RecoveryWindowInDays = days }
            : new DeleteSecretRequest { SecretId = name, ForceDeleteWithoutRecovery = true };
        try
        {
            await _client.SendAsync("DeleteSecret", name, request, ProtocolJson.Default.DeleteSecretRequest, ProtocolJson.Default.EmptyResponse, cancellationToken)
                .ConfigureAwait(false);
            return true;
        }
        catch (AwsServiceError e) when (e.Type is "ResourceNotFoundException" or "InvalidRequestException")
        {
            // Deleted meanwhile (or already scheduled by someone else).
            return false;
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, name);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<EntryMetadata> ListAsync(string ns, CancellationToken cancellationToken = default)
    {
        if (!SecretLayout.IsValidNamespace(ns))
        {
            throw AgentScopeException.InvalidInput($"invalid namespace {Display.Quote(ns)}");
        }

        return ListCoreAsync(_layout.NamespacePrefix(ns), ns, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<EntryMetadata> ListAllAsync(CancellationToken cancellationToken = default) =>
        ListCoreAsync(_layout.AllPrefix, null, cancellationToken);

    private async IAsyncEnumerable<EntryMetadata> ListCoreAsync(string namePrefix, string? ns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // AWS's name filter is a case-sensitive prefix match and filters of different keys must all match; the exact
        // namespace and the layout are still checked here, so nothing outside this prefix's layout is ever yielded.
        var filters = new List<Filter> { new("name", [namePrefix]), new("tag-key", [SecretLayout.TagManaged]) };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? nextToken = null;
        do
        {
            var page = await _client.SendAsync("ListSecrets", namePrefix, new ListSecretsRequest { Filters = filters, MaxResults = PageSize, NextToken = nextToken },
                ProtocolJson.Default.ListSecretsRequest, ProtocolJson.Default.ListSecretsResponse, cancellationToken).ConfigureAwait(false);
            foreach (var secret in page.SecretList ?? [])
            {
                if (secret.DeletedDate is not null || !_layout.TryParseName(secret.Name, out var key) || (ns is not null && key.Namespace != ns)
                    || !SecretLayout.IsManaged(secret.Tags) || !seen.Add(secret.Name!))
                {
                    continue;
                }

                var metadata = SecretLayout.MetadataFromTags(key, secret.Tags);
                if (metadata is null)
                {
                    // Tags incomplete (an overwrite whose TagResource failed, or edited by hand): the envelope knows.
                    metadata = (await GetAsync(key, cancellationToken).ConfigureAwait(false))?.Metadata;
                    if (metadata is null)
                    {
                        continue;
                    }
                }

                yield return metadata;
            }

            nextToken = string.IsNullOrEmpty(page.NextToken) ? null : page.NextToken;
        }
        while (nextToken is not null);
    }

    /// <inheritdoc />
    public async ValueTask CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        // One cheap, filtered ListSecrets: proves the endpoint answers and the credentials may list.
        var filters = new List<Filter> { new("name", [_layout.AllPrefix]) };
        try
        {
            await _client.SendAsync("ListSecrets", _layout.AllPrefix, new ListSecretsRequest { Filters = filters, MaxResults = 1 },
                ProtocolJson.Default.ListSecretsRequest, ProtocolJson.Default.ListSecretsResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceError e)
        {
            throw Unexpected(e, _layout.AllPrefix);
        }
    }

    /// <summary>Releases the concurrency gate. The HTTP clients belong to their factory or owner.</summary>
    public void Dispose() => _client.Dispose();

    private string NameOf(EntryKey key)
    {
        if (!SecretLayout.IsValidNamespace(key.Namespace) || !Names.IsValidLabel(key.Label))
        {
            throw AgentScopeException.InvalidInput($"invalid entry coordinate {Display.Quote(key.Namespace)}/{Display.Quote(key.Label)}");
        }

        return _layout.Name(key);
    }

    private static BackendEntry ReadEntry(EntryKey key, string name, GetSecretValueResponse response)
    {
        if (response.SecretString is { } secretString && SecretLayout.ReadEnvelope(key, secretString) is { } entry)
        {
            return entry;
        }

        throw new AgentScopeException(ErrorKind.BackendPermission,
            $"the secret '{name}' in AWS Secrets Manager is not in AgentScope's format (was it changed outside AgentScope?); store the label again through AgentScope");
    }

    private static AgentScopeException Unexpected(AwsServiceError e, string name) => e.Type switch
    {
        "LimitExceededException" => AgentScopeException.Unavailable(
            $"AWS Secrets Manager refused {e.Operation} on '{name}': an account quota is exhausted ({e.Type}{RequestIdSuffix(e)})", e, TimeSpan.FromMinutes(1)),
        "ValidationException" or "InvalidParameterException" or "InvalidRequestException" or "InvalidNextTokenException" or "MalformedPolicyDocumentException"
            => AgentScopeException.InvalidInput($"AWS Secrets Manager rejected {e.Operation} on '{name}' as invalid ({e.Type}{RequestIdSuffix(e)})"),
        _ => new AgentScopeException(ErrorKind.BackendUnavailable,
            $"AWS Secrets Manager failed {e.Operation} on '{name}' ({e.Type}, HTTP {e.Status}{RequestIdSuffix(e)})", e) { RetryAfter = TimeSpan.FromSeconds(1) },
    };

    private static string RequestIdSuffix(AwsServiceError e) => e.RequestId is null ? string.Empty : ", request id " + e.RequestId;

    private static Func<HttpClient> CreateClientFactory(IHttpClientFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return () => factory.CreateClient(AwsSecretsManagerServiceCollectionExtensions.HttpClientName);
    }

    private static Func<HttpClient> CreateClientFactory(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return () => client;
    }

    /// <inheritdoc />
    public override string ToString() => $"AwsSecretsManagerBackend {{ prefix {_layout.Prefix} }}";
}
