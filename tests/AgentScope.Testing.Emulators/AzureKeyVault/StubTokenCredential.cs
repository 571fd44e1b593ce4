using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;

namespace AgentScope.Testing.Emulators.AzureKeyVault;

/// <summary>A credential that hands out a fixed token (or fails like a misconfigured identity) and records what was asked.</summary>
public sealed class StubTokenCredential(string token) : TokenCredential
{
    public ConcurrentQueue<TokenRequestContext> Requests { get; } = new();

    /// <summary>When set, every token request fails with this message, as <c>DefaultAzureCredential</c> does without a usable identity.</summary>
    public string? FailWith { get; set; }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Requests.Enqueue(requestContext);
        if (FailWith is not null)
        {
            throw new AuthenticationFailedException(FailWith);
        }

        return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
