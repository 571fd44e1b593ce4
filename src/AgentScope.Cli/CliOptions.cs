using System.CommandLine;

namespace AgentScope.Cli;

/// <summary>Options shared by several commands.</summary>
internal static class CliOptions
{
    public static readonly Option<string?> Home = new("--home")
    {
        Description = "The AgentScope home (settings, master key, Local store, audit). Default: $AGENTSCOPE_HOME or ~/.agentscope",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Write the result as JSON" };

    public static readonly Option<string?> Agent = new("--agent")
    {
        Description = "Act as administrator on behalf of this agent (instead of as the agent in AGENTSCOPE_API_KEY)",
    };

    public static readonly Option<string?> Justification = new("--justification")
    {
        Description = "Why this access is needed (recorded in the audit trail; some policies require it)",
    };
}
