using AgentScope.Tests.Audit;

namespace AgentScope.Tests;

/// <summary>
/// The test assembly's entry point, in place of the test SDK's empty one (GenerateProgramFile is off), so that a test can
/// run code of its own in a second process: <c>dotnet AgentScope.Tests.dll &lt;command&gt; ...</c>. The test runner never calls it.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args) => args switch
    {
        ["audit-writer", var path, var count] => await AuditWriterProcess.RunAsync(path, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture)),
        _ => 2,
    };
}
