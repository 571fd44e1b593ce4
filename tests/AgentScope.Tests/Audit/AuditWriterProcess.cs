using System.Diagnostics;
using AgentScope.Audit;

namespace AgentScope.Tests.Audit;

/// <summary>
/// Another process appending to an audit log, as a CLI next to a server would: <see cref="StartAsync"/> runs this test
/// assembly again (<see cref="Program"/>), which appends records one at a time and reports the slowest append.
/// </summary>
internal static class AuditWriterProcess
{
    public sealed record Result(int ExitCode, double SlowestAppendMs, string Output);

    /// <summary>Appends <paramref name="count"/> records with request ids <c>child-0</c>, <c>child-1</c>, ... to the log at <paramref name="logPath"/>.</summary>
    public static async Task<Result> StartAsync(string logPath, int count)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(typeof(AuditWriterProcess).Assembly.Location);
        psi.ArgumentList.Add("audit-writer");
        psi.ArgumentList.Add(logPath);
        psi.ArgumentList.Add(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        var slowest = output.Split('\n').FirstOrDefault(l => l.StartsWith("slowest-ms=", StringComparison.Ordinal)) is { } line
            ? double.Parse(line["slowest-ms=".Length..], System.Globalization.CultureInfo.InvariantCulture)
            : double.NaN;
        return new Result(process.ExitCode, slowest, output);
    }

    /// <summary>The child's side.</summary>
    public static async Task<int> RunAsync(string logPath, int count)
    {
        // Warm up on a scratch log first, so that the timed appends measure waiting for the lock, not the JIT.
        var scratch = Directory.CreateTempSubdirectory("agentscope-audit-writer-");
        try
        {
            using (var warm = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(scratch.FullName, "audit.jsonl") }))
            {
                for (var i = 0; i < 20; i++)
                {
                    await warm.WriteAsync(AuditTestFiles.Event(i));
                }
            }
        }
        finally
        {
            scratch.Delete(recursive: true);
        }

        using var sink = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = logPath });
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await sink.WriteAsync(AuditTestFiles.Event(i, agent: "child") with { RequestId = "child-" + i });
            var elapsed = Stopwatch.GetElapsedTime(started);
            slowest = elapsed > slowest ? elapsed : slowest;
            await Task.Delay(2); // a CLI appends a record or two, then works or exits: not a tight loop
        }

        Console.WriteLine(FormattableString.Invariant($"slowest-ms={slowest.TotalMilliseconds:0.###}"));
        return 0;
    }
}
