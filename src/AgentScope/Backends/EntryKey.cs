namespace AgentScope.Backends;

/// <summary>
/// The logical coordinate of an entry: the owning namespace (an agent id, or the reserved registry namespace) and a label.
/// Providers map it to a native name their service accepts and keep it in tags so enumeration can recover it.
/// </summary>
/// <param name="Namespace">The agent id, or <see cref="RegistryNamespace"/>.</param>
/// <param name="Label">The label within the namespace.</param>
public readonly record struct EntryKey(string Namespace, string Label)
{
    /// <summary>
    /// The reserved namespace that holds agent identities and admin keys. It starts with '_', which no agent id may,
    /// so no agent can address it.
    /// </summary>
    public const string RegistryNamespace = "_registry";

    /// <summary>True for entries of the registry namespace.</summary>
    public bool IsRegistry => Namespace == RegistryNamespace;

    /// <inheritdoc />
    public override string ToString() => Namespace + "/" + Label;
}
