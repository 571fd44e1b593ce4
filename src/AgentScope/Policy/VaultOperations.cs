namespace AgentScope;

/// <summary>The operations a policy rule can allow or deny.</summary>
[Flags]
public enum VaultOperations
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>Read a value (<c>read</c>).</summary>
    Read = 1,
    /// <summary>Create or overwrite a value (<c>write</c>).</summary>
    Write = 2,
    /// <summary>Delete a value (<c>delete</c>).</summary>
    Delete = 4,
    /// <summary>See a label in listings (<c>list</c>).</summary>
    List = 8,
    /// <summary>Get TOTP codes computed from a seed (<c>totp</c>).</summary>
    Totp = 16,
    /// <summary>Use a value in an outbound request without seeing it (<c>use</c>).</summary>
    Use = 32,
    /// <summary>Every operation (<c>*</c>).</summary>
    All = Read | Write | Delete | List | Totp | Use,
}

/// <summary>The names of operations in policy documents.</summary>
public static class VaultOperationNames
{
    /// <summary>Parses one operation name (case-insensitive); <c>*</c> means all.</summary>
    public static VaultOperations Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "read" => VaultOperations.Read,
        "write" => VaultOperations.Write,
        "delete" => VaultOperations.Delete,
        "list" => VaultOperations.List,
        "totp" => VaultOperations.Totp,
        "use" => VaultOperations.Use,
        "*" => VaultOperations.All,
        _ => throw AgentScopeException.InvalidInput($"unknown operation {Names.Describe(name)}: use read, write, delete, list, totp, use or *"),
    };

    /// <summary>The name of a single operation.</summary>
    public static string Name(VaultOperations op) => op switch
    {
        VaultOperations.Read => "read",
        VaultOperations.Write => "write",
        VaultOperations.Delete => "delete",
        VaultOperations.List => "list",
        VaultOperations.Totp => "totp",
        VaultOperations.Use => "use",
        _ => op.ToString().ToLowerInvariant(),
    };
}
