using System.Globalization;
using Azure;
using Azure.Identity;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>The Key Vault data-plane operations AgentScope performs, with what each needs.</summary>
internal enum KeyVaultOperation
{
    Get,
    Set,
    Delete,
    Purge,
    Recover,
    List,
}

/// <summary>
/// Turns SDK failures (after the pipeline's own retries) into AgentScope's error family. Messages name the operation,
/// the label and the status, never a value or a token; the SDK exception is kept as the inner exception for operators.
/// </summary>
internal static class KeyVaultErrors
{
    public const string Role = "Key Vault Secrets Officer";

    /// <summary>The RBAC data action and the access-policy permission an operation needs.</summary>
    public static (string DataAction, string Permission) Requirement(KeyVaultOperation operation) => operation switch
    {
        KeyVaultOperation.Get => ("Microsoft.KeyVault/vaults/secrets/getSecret/action", "get"),
        KeyVaultOperation.Set => ("Microsoft.KeyVault/vaults/secrets/setSecret/action", "set"),
        KeyVaultOperation.Delete => ("Microsoft.KeyVault/vaults/secrets/delete", "delete"),
        KeyVaultOperation.Purge => ("Microsoft.KeyVault/vaults/secrets/purge/action", "purge"),
        KeyVaultOperation.Recover => ("Microsoft.KeyVault/vaults/secrets/recover/action", "recover"),
        _ => ("Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list"),
    };

    /// <summary>
    /// The AgentScope exception for <paramref name="exception"/>, or null when it is not a failure of the service or
    /// of the credential (a bug, or the caller's own cancellation), which must propagate unchanged.
    /// </summary>
    public static AgentScopeException? Map(Exception exception, KeyVaultOperation operation, string? label, CancellationToken cancellationToken)
    {
        if (exception is AgentScopeException known)
        {
            return known;
        }

        if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        var what = Describe(operation, label);
        switch (exception)
        {
            case AuthenticationFailedException:
                // CredentialUnavailableException derives from it: no credential source worked at all.
                return new AgentScopeException(ErrorKind.BackendPermission,
                    $"could not get a token for Azure Key Vault while {what} ({exception.GetType().Name}): check the credential, tenant and client id configured for AgentScope",
                    exception);
            case RequestFailedException failed:
                return FromStatus(failed, what, operation);
            case AggregateException aggregate when aggregate.InnerExceptions.All(IsTransient):
                // The pipeline gives up on repeated network failures with an AggregateException of them.
                return AgentScopeException.Unavailable($"Azure Key Vault is unreachable while {what} (retries exhausted)", exception);
            default:
                return IsTransient(exception)
                    ? AgentScopeException.Unavailable($"Azure Key Vault is unreachable while {what} ({exception.GetType().Name})", exception)
                    : null;
        }
    }

    private static bool IsTransient(Exception e) => e is HttpRequestException or IOException or TimeoutException or OperationCanceledException
        || (e is RequestFailedException r && (r.Status == 0 || r.Status == 408 || r.Status == 429 || r.Status >= 500));

    private static AgentScopeException FromStatus(RequestFailedException e, string what, KeyVaultOperation operation)
    {
        var code = string.IsNullOrEmpty(e.ErrorCode) ? string.Empty : $", {e.ErrorCode}";
        var status = $"{e.Status}{code}";
        switch (e.Status)
        {
            case 401:
                return new AgentScopeException(ErrorKind.BackendPermission,
                    $"Azure Key Vault rejected AgentScope's token while {what} ({status}): check the credential and that it belongs to the vault's tenant", e);
            case 403:
                var (action, permission) = Requirement(operation);
                return new AgentScopeException(ErrorKind.BackendPermission,
                    $"Azure Key Vault refused {what} ({status}): AgentScope's identity needs the data action '{action}' on the vault; " +
                    $"assign the '{Role}' role scoped to the vault (or a custom role with that data action; with access policies, the secret permission '{permission}'). " +
                    "A firewall or private-endpoint rule, or a disabled secret, is also answered 403", e);
            case 408 or 429 or 0 or >= 500:
                return AgentScopeException.Unavailable($"Azure Key Vault did not serve {what} ({status}) after the configured retries", e, RetryAfter(e));
            case 400:
                return new AgentScopeException(ErrorKind.InvalidInput, $"Azure Key Vault refused {what} as invalid ({status})", e);
            case 404:
                return AgentScopeException.NotFound($"Azure Key Vault found nothing while {what} ({status})");
            case 409:
                return new AgentScopeException(ErrorKind.Conflict, $"Azure Key Vault reported a conflict while {what} ({status})", e);
            case 413:
                return new AgentScopeException(ErrorKind.ValueTooLarge, $"Azure Key Vault refused {what} as too large ({status})", e);
            default:
                return AgentScopeException.Unavailable($"Azure Key Vault answered {what} with an unexpected status ({status})", e, RetryAfter(e));
        }
    }

    private static string Describe(KeyVaultOperation operation, string? label)
    {
        var verb = operation switch
        {
            KeyVaultOperation.Get => "reading",
            KeyVaultOperation.Set => "writing",
            KeyVaultOperation.Delete => "deleting",
            KeyVaultOperation.Purge => "purging",
            KeyVaultOperation.Recover => "recovering",
            _ => "listing secrets",
        };
        return label is null ? verb : $"{verb} '{label}'";
    }

    /// <summary>The server's requested delay: retry-after-ms, x-ms-retry-after-ms or Retry-After (seconds or an HTTP date).</summary>
    internal static TimeSpan? RetryAfter(RequestFailedException e)
    {
        var response = e.GetRawResponse();
        if (response is null)
        {
            return null;
        }

        foreach (var header in new[] { "retry-after-ms", "x-ms-retry-after-ms" })
        {
            if (response.Headers.TryGetValue(header, out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m >= 0)
            {
                return TimeSpan.FromMilliseconds(m);
            }
        }

        if (response.Headers.TryGetValue("Retry-After", out var value))
        {
            if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                var wait = at - DateTimeOffset.UtcNow;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        return null;
    }
}
