using AgentScope.Client;
using AgentScope.Injection;

namespace AgentScope.Mcp;

/// <summary>
/// The tools on a running AgentScope server (<c>agentscope serve</c>), over its REST API with the agent's key: the server
/// applies the policy and writes the audit trail (surface <c>rest</c>), and performs <c>vault.request</c> itself
/// (<c>POST /v0/request</c>), so the value never reaches this process either. <c>vault.get</c> asks with
/// <c>X-AgentScope-Reveal-To: model</c>, so the server applies the rule's <c>reveal</c> flag as it would in process.
/// </summary>
internal sealed class RemoteVaultToolsBackend(AgentScopeClient client) : IVaultToolsBackend
{
    public async Task<StoreToolResult> StoreAsync(AccessContext context, string label, SecretValue value, StoreOptions options, CancellationToken cancellationToken)
    {
        var result = await client.WithContext(context).StoreAsync(label, value, options, cancellationToken).ConfigureAwait(false);
        return new StoreToolResult(result.Label, result.Version, result.UpdatedAt, result.Created);
    }

    public async Task<SecretResult> RevealToModelAsync(AccessContext context, string label, CancellationToken cancellationToken)
    {
        var secret = await client.WithContext(context).RevealToModelAsync(label, cancellationToken).ConfigureAwait(false);
        return new SecretResult(secret.Label, secret.Value.Reveal(), secret.Kind, secret.Version, secret.UpdatedAt, secret.ExpiresAt);
    }

    public Task DeleteAsync(AccessContext context, string label, CancellationToken cancellationToken) =>
        client.WithContext(context).DeleteAsync(label, cancellationToken);

    public async Task<LabelsResult> ListAsync(AccessContext context, CancellationToken cancellationToken)
    {
        var labels = await client.WithContext(context).ListAsync(cancellationToken).ConfigureAwait(false);
        return new LabelsResult([.. labels.Select(l => new LabelInfo(l.Label, l.Kind, l.Version, l.UpdatedAt, l.ExpiresAt))]);
    }

    public async Task<TotpResult> GetTotpAsync(AccessContext context, string label, CancellationToken cancellationToken)
    {
        var code = await client.WithContext(context).GetTotpAsync(label, cancellationToken).ConfigureAwait(false);
        return new TotpResult(code.Code, code.Remaining);
    }

    public Task<InjectedResponse> RequestAsync(AccessContext context, InjectedRequest request, CancellationToken cancellationToken) =>
        client.WithContext(context).RequestAsync(request, cancellationToken);
}
