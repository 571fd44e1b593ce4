using AgentScope.Injection;

namespace AgentScope.Mcp;

/// <summary>The tools on an authenticated <see cref="AgentVault"/> of this process, and its own injection engine.</summary>
internal sealed class InProcessVaultToolsBackend(AgentVault vault, InjectedRequestExecutor executor) : IVaultToolsBackend
{
    public async Task<StoreToolResult> StoreAsync(AccessContext context, string label, SecretValue value, StoreOptions options, CancellationToken cancellationToken)
    {
        var result = await vault.WithContext(context).StoreAsync(label, value, options, cancellationToken).ConfigureAwait(false);
        return new StoreToolResult(result.Label, result.Version, result.UpdatedAt, result.Created);
    }

    public async Task<SecretResult> RevealToModelAsync(AccessContext context, string label, CancellationToken cancellationToken)
    {
        var entry = await vault.WithContext(context).RevealToModelAsync(label, cancellationToken).ConfigureAwait(false);
        return new SecretResult(entry.Label, entry.Value.Reveal(), KindName(entry.Kind), entry.Version, entry.UpdatedAt, entry.ExpiresAt);
    }

    public Task DeleteAsync(AccessContext context, string label, CancellationToken cancellationToken) =>
        vault.WithContext(context).DeleteAsync(label, cancellationToken);

    public async Task<LabelsResult> ListAsync(AccessContext context, CancellationToken cancellationToken)
    {
        var labels = await vault.WithContext(context).ListAsync(cancellationToken).ConfigureAwait(false);
        return new LabelsResult([.. labels.Select(l => new LabelInfo(l.Label, KindName(l.Kind), l.Version, l.UpdatedAt, l.ExpiresAt))]);
    }

    public async Task<TotpResult> GetTotpAsync(AccessContext context, string label, CancellationToken cancellationToken)
    {
        var code = await vault.WithContext(context).GetTotpAsync(label, cancellationToken).ConfigureAwait(false);
        return new TotpResult(code.Code, code.Remaining);
    }

    public Task<InjectedResponse> RequestAsync(AccessContext context, InjectedRequest request, CancellationToken cancellationToken) =>
        executor.SendAsync(vault.WithContext(context), request, cancellationToken);

    private static string KindName(SecretKind kind) => kind == SecretKind.Totp ? "totp" : "generic";
}
