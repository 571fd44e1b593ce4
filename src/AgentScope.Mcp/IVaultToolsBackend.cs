using AgentScope.Injection;

namespace AgentScope.Mcp;

/// <summary>
/// Where the vault tools do their work: in process, on the home's backend (<see cref="InProcessVaultToolsBackend"/>), or
/// on a running AgentScope server over REST (<see cref="RemoteVaultToolsBackend"/>). Either way the policy and the audit
/// are the core's; the tools only shape arguments and results. Each call carries its own justification and request id.
/// </summary>
internal interface IVaultToolsBackend
{
    /// <summary><c>vault.store</c>.</summary>
    Task<StoreToolResult> StoreAsync(AccessContext context, string label, SecretValue value, StoreOptions options, CancellationToken cancellationToken);

    /// <summary><c>vault.get</c>: a read for a model, allowed only where an allowing rule sets <c>reveal</c>.</summary>
    Task<SecretResult> RevealToModelAsync(AccessContext context, string label, CancellationToken cancellationToken);

    /// <summary><c>vault.delete</c>.</summary>
    Task DeleteAsync(AccessContext context, string label, CancellationToken cancellationToken);

    /// <summary><c>vault.list</c>.</summary>
    Task<LabelsResult> ListAsync(AccessContext context, CancellationToken cancellationToken);

    /// <summary><c>vault.totp</c>.</summary>
    Task<TotpResult> GetTotpAsync(AccessContext context, string label, CancellationToken cancellationToken);

    /// <summary><c>vault.request</c>.</summary>
    Task<InjectedResponse> RequestAsync(AccessContext context, InjectedRequest request, CancellationToken cancellationToken);
}
