namespace AgentScope;

/// <summary>Settings of the AgentScope core, validated once at registration.</summary>
public sealed class AgentScopeOptions
{
    /// <summary>
    /// The master key, base64 of 32 random bytes. It wraps every agent's data key and keys the audit fingerprints.
    /// Required. <c>agentscope init</c> writes one to a 0600 key file in the home.
    /// </summary>
    public string? MasterKey { get; set; }

    /// <summary>The largest value accepted, in UTF-8 bytes. Default 65,536; a backend may declare less.</summary>
    public int MaxValueBytes { get; set; } = 65_536;

    /// <summary>
    /// How long an identity (status, keys, policy) is cached. Revocation on the same process takes effect at once;
    /// other replicas notice within this time. Default 5 seconds; zero disables the cache.
    /// </summary>
    public TimeSpan IdentityCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When true, values are encrypted with the agent's data key before they reach a remote backend too, so revoke
    /// crypto-shreds copies the service may keep (recovery windows, soft delete, backups). Always on for the Local store.
    /// </summary>
    public bool ClientSideEncryption { get; set; }

    /// <summary>When false (default), an operation whose audit record cannot be written is refused (fail-closed).</summary>
    public bool AuditBestEffort { get; set; }

    /// <summary>How long a key replaced by a rotation keeps working, unless the rotation says otherwise. Default 1 hour.</summary>
    public TimeSpan KeyRotationGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How many backend calls revoke and sweep run at once; null uses the backend's declared limit.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>Reports every problem together as one invalid-input error.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(MasterKey))
        {
            problems.Add("MasterKey is required (base64 of 32 random bytes; 'agentscope init' creates one)");
        }
        else
        {
            try
            {
                Crypto.MasterKey.Parse(MasterKey);
            }
            catch (AgentScopeException e)
            {
                problems.Add(e.Message);
            }
        }

        if (MaxValueBytes is <= 0 or > 16 << 20)
        {
            problems.Add("MaxValueBytes must be between 1 and 16 MiB");
        }

        if (IdentityCacheTtl < TimeSpan.Zero)
        {
            problems.Add("IdentityCacheTtl must not be negative");
        }

        if (KeyRotationGrace < TimeSpan.Zero)
        {
            problems.Add("KeyRotationGrace must not be negative");
        }

        if (MaxConcurrency is <= 0)
        {
            problems.Add("MaxConcurrency must be positive");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid AgentScope options: " + string.Join("; ", problems));
        }
    }
}
