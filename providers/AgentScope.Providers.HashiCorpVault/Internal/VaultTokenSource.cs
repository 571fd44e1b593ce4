using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace AgentScope.Providers.HashiCorpVault.Internal;

/// <summary>
/// Holds AgentScope's Vault token and keeps it alive: logs in (AppRole, Kubernetes) or checks the given token
/// (<c>auth/token/lookup-self</c>) on first use, renews it with <c>auth/token/renew-self</c> once two thirds of its lease
/// have passed, logs in again when renewal stops extending it (max TTL) or the token is not renewable, and after Vault
/// refused the token as invalid. Renewal happens on the next call after the two-thirds mark, timed by the injected
/// <see cref="TimeProvider"/>; a failed renewal does not fail the call while the token is still valid.
/// </summary>
internal sealed class VaultTokenSource : IDisposable
{
    private static readonly TimeSpan RenewalRetry = TimeSpan.FromSeconds(10);

    private readonly VaultTransport _transport;
    private readonly VaultSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Replaced whole (never mutated) so that the lock-free fast path in GetAsync cannot see a torn DateTimeOffset?.
    private volatile TokenState? _state;
    private TimeSpan _loginLease;

    public VaultTokenSource(VaultTransport transport, TimeProvider time, ILogger logger)
    {
        _transport = transport;
        _settings = transport.Settings;
        _time = time;
        _logger = logger;
    }

    /// <summary>True when a refused token can be replaced by logging in again.</summary>
    public bool CanLogin => _settings.Method != HashiCorpVaultAuthMethod.Token;

    /// <summary>Counts logins, for tests and diagnostics.</summary>
    public int Logins { get; private set; }

    /// <summary>Counts successful renewals, for tests and diagnostics.</summary>
    public int Renewals { get; private set; }

    /// <summary>A token that is valid as far as this process knows, after any login or renewal that was due.</summary>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (_state is { } current && !Due(current))
        {
            return current.Token;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_state is not { } state)
            {
                await AcquireAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (Due(state))
            {
                await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
            }

            return _state!.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Called after Vault refused <paramref name="refused"/> as invalid or expired: logs in again (once for all callers that
    /// saw the same token refused). Returns false when the auth method cannot log in (a static token).
    /// </summary>
    public async ValueTask<bool> RecoverAsync(string refused, CancellationToken cancellationToken)
    {
        if (!CanLogin)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_state?.Token == refused)
            {
                _logger.LogInformation("Vault refused AgentScope's token as invalid or expired; logging in again");
                await LoginAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Whether Vault refuses <paramref name="token"/> itself (as opposed to a policy refusing one path): Vault 1.15+ says
    /// "invalid token" in the 403 body; older versions say only "permission denied", so ask lookup-self, which the default
    /// policy allows every valid token.
    /// </summary>
    public async ValueTask<bool> IsRefusedAsync(string token, VaultReply forbidden, CancellationToken cancellationToken)
    {
        if (forbidden.Errors().Any(e => e.Contains("invalid token", StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        var probe = await _transport.SendAsync(new VaultCall(HttpMethod.Get, "auth/token/lookup-self"), token, cancellationToken).ConfigureAwait(false);
        return probe.Status == 403;
    }

    public void Dispose() => _gate.Dispose();

    private bool Due(TokenState state) => state.RenewAt is { } at && _time.GetUtcNow() >= at;

    private async Task AcquireAsync(CancellationToken cancellationToken)
    {
        if (CanLogin)
        {
            await LoginAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        // A given token: learn its TTL so it can be renewed in time (root and other non-expiring tokens report 0).
        var call = new VaultCall(HttpMethod.Get, "auth/token/lookup-self");
        var reply = await _transport.SendAsync(call, _settings.Token, cancellationToken).ConfigureAwait(false);
        if (reply.Status == 403)
        {
            throw new AgentScopeException(ErrorKind.BackendPermission,
                "Vault refused AgentScope's token (invalid, expired or revoked; auth/token/lookup-self was denied): issue a new token or use AppRole or Kubernetes login");
        }

        if (!reply.IsSuccess)
        {
            throw AgentScopeException.Unavailable($"Vault answered {reply.Status} to {call} ({reply.ErrorText()})");
        }

        var data = reply.Read(VaultJsonContext.Default.TokenLookupResponse, call).Data;
        Schedule(_settings.Token!, TimeSpan.FromSeconds(data?.Ttl ?? 0), data?.Renewable ?? false);
    }

    private async Task LoginAsync(CancellationToken cancellationToken)
    {
        var path = $"auth/{_settings.AuthMount}/login";
        byte[] body;
        string method;
        if (_settings.Method == HashiCorpVaultAuthMethod.AppRole)
        {
            method = "AppRole";
            var secretId = _settings.SecretId ?? ReadCredentialFile(_settings.SecretIdFile!, "AppRole secret_id");
            body = JsonSerializer.SerializeToUtf8Bytes(new AppRoleLoginRequest { RoleId = _settings.RoleId!, SecretId = secretId }, VaultJsonContext.Default.AppRoleLoginRequest);
        }
        else
        {
            method = "Kubernetes";
            var jwt = ReadCredentialFile(_settings.JwtPath, "Kubernetes service-account token");
            body = JsonSerializer.SerializeToUtf8Bytes(new KubernetesLoginRequest { Role = _settings.KubernetesRole!, Jwt = jwt }, VaultJsonContext.Default.KubernetesLoginRequest);
        }

        var call = new VaultCall(HttpMethod.Post, path, body);
        var reply = await _transport.SendAsync(call, token: null, cancellationToken).ConfigureAwait(false);
        if (reply.Status is 400 or 401 or 403 or 404)
        {
            // Vault's login errors ("invalid role or secret ID", "permission denied") name no credential.
            throw new AgentScopeException(ErrorKind.BackendPermission,
                $"Vault refused the {method} login at {path} ({reply.Status}: {reply.ErrorText()})");
        }

        if (!reply.IsSuccess)
        {
            throw AgentScopeException.Unavailable($"Vault answered {reply.Status} to {call} ({reply.ErrorText()})");
        }

        var auth = reply.Read(VaultJsonContext.Default.AuthResponse, call).Auth;
        if (string.IsNullOrEmpty(auth?.ClientToken))
        {
            throw AgentScopeException.Unavailable($"Vault's answer to the {method} login at {path} holds no auth.client_token");
        }

        _loginLease = TimeSpan.FromSeconds(auth.LeaseDuration);
        Logins++;
        Schedule(auth.ClientToken, _loginLease, auth.Renewable);
        _logger.LogInformation("Logged in to Vault with {Method} at {Path}; lease {Lease} s, renewable {Renewable}", method, path, auth.LeaseDuration, auth.Renewable);
    }

    private async Task RefreshAsync(TokenState state, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (CanLogin && (!state.Renewable || state.ExpiresAt is { } exp && now >= exp))
        {
            await LoginAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!state.Renewable)
        {
            _state = state with { RenewAt = null };
            return;
        }

        var call = new VaultCall(HttpMethod.Post, "auth/token/renew-self", JsonSerializer.SerializeToUtf8Bytes(new EmptyRequest(), VaultJsonContext.Default.EmptyRequest));
        VaultReply reply;
        try
        {
            reply = await _transport.SendAsync(call, state.Token, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentScopeException e) when (e.Kind == ErrorKind.BackendUnavailable && state.ExpiresAt is { } stillValid && _time.GetUtcNow() < stillValid)
        {
            _logger.LogWarning("Renewing the Vault token failed ({Message}); the token stays valid until {Expiry}, retrying later", e.Message, stillValid);
            _state = state with { RenewAt = _time.GetUtcNow() + RenewalRetry };
            return;
        }

        if (reply.IsSuccess && reply.Read(VaultJsonContext.Default.AuthResponse, call).Auth is { } auth)
        {
            var lease = TimeSpan.FromSeconds(auth.LeaseDuration);
            Renewals++;
            // Near the token's max TTL, renewals stop extending it: log in again rather than renew ever more often.
            if (CanLogin && lease < _loginLease / 3)
            {
                await LoginAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            Schedule(state.Token, lease, auth.Renewable);
            _logger.LogDebug("Renewed the Vault token; lease {Lease} s", auth.LeaseDuration);
            return;
        }

        if (CanLogin)
        {
            await LoginAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        // A given token that cannot be renewed: keep using it until Vault refuses it, then report that clearly.
        _logger.LogWarning("Vault did not renew AgentScope's token ({Status}: {Errors})", reply.Status, reply.ErrorText());
        _state = state with { RenewAt = null };
    }

    private void Schedule(string token, TimeSpan lease, bool renewable)
    {
        var now = _time.GetUtcNow();
        _state = lease <= TimeSpan.Zero
            ? new TokenState(token, null, null, renewable)
            : new TokenState(token, now + lease * 2 / 3, now + lease, renewable);
    }

    /// <summary>The current token and when to renew it; ToString leaves the token out.</summary>
    private sealed record TokenState(string Token, DateTimeOffset? RenewAt, DateTimeOffset? ExpiresAt, bool Renewable)
    {
        public override string ToString() => $"token renew at {RenewAt}, expires {ExpiresAt}";
    }

    private static string ReadCredentialFile(string path, string what)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length > 0 ? text : throw new AgentScopeException(ErrorKind.BackendPermission, $"the {what} file '{path}' is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentScopeException(ErrorKind.BackendPermission, $"cannot read the {what} file '{path}' ({e.GetType().Name})");
        }
    }
}
