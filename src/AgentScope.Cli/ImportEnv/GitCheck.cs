using System.ComponentModel;
using System.Diagnostics;

namespace AgentScope.Cli.ImportEnv;

/// <summary>Warnings about a <c>.env</c> inside a git work tree: tracked (its secrets are in the history), or not ignored.</summary>
internal static class GitCheck
{
    public static async Task<IReadOnlyList<string>> WarningsAsync(string file, CancellationToken ct)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var name = Path.GetFileName(file);
        if (await GitAsync(dir, ct, "rev-parse", "--is-inside-work-tree").ConfigureAwait(false) is not (0, "true"))
        {
            return []; // not in a work tree, or no git at all
        }

        if (await GitAsync(dir, ct, "ls-files", "--error-unmatch", "--", name).ConfigureAwait(false) is (0, _))
        {
            return [$"{file} is tracked by git: every secret in it is in the repository's history. Rotate them after the import, " +
                    $"then 'git rm --cached {name}' and add it to .gitignore"];
        }

        return await GitAsync(dir, ct, "check-ignore", "-q", "--", name).ConfigureAwait(false) is (1, _)
            ? [$"{file} is not ignored by git: add it to .gitignore, or the next 'git add .' commits it"]
            : [];
    }

    private static async Task<(int ExitCode, string Output)?> GitAsync(string dir, CancellationToken ct, params string[] args)
    {
        var psi = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi);
            if (p is null)
            {
                return null;
            }

            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync(ct);
            var stderr = p.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                await p.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                p.Kill(entireProcessTree: true);
                return null;
            }

            await stderr.ConfigureAwait(false);
            return (p.ExitCode, (await stdout.ConfigureAwait(false)).Trim());
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
        {
            return null;
        }
    }
}
