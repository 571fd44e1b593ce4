using System.Security.Cryptography;
using System.Text;

namespace AgentScope.Cli.ImportEnv;

/// <summary>
/// A <c>.env</c> file as read (bytes, text, mode), and its atomic replacement: a temporary file in the same directory,
/// flushed to disk, given the original's permissions, then renamed over the original. A symbolic link is followed, so the
/// file it points to is replaced and the link stays a link.
/// </summary>
internal sealed class EnvFile
{
    public const int MaxBytes = 1 << 20;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private EnvFile(string path, string target, byte[] bytes, string text, bool validUtf8, UnixFileMode? mode)
    {
        Path = path;
        Target = target;
        Bytes = bytes;
        Text = text;
        IsValidUtf8 = validUtf8;
        Mode = mode;
    }

    /// <summary>The path as given.</summary>
    public string Path { get; }

    /// <summary>The file actually read and replaced (the final target of a symbolic link).</summary>
    public string Target { get; }

    public byte[] Bytes { get; }

    /// <summary>The text, decoded as UTF-8 without removing a BOM (as Node reads it for dotenv), so a rewrite keeps it.</summary>
    public string Text { get; }

    /// <summary>False when the bytes are not valid UTF-8: such a file can be imported from but not rewritten faithfully.</summary>
    public bool IsValidUtf8 { get; }

    /// <summary>The Unix permissions, null on Windows.</summary>
    public UnixFileMode? Mode { get; }

    public static async Task<EnvFile> ReadAsync(string path, CancellationToken ct)
    {
        try
        {
            var given = new FileInfo(path);
            if (!given.Exists && given.LinkTarget is null)
            {
                throw AgentScopeException.InvalidInput($"no file {path}");
            }

            var target = given.LinkTarget is null ? given.FullName : File.ResolveLinkTarget(path, returnFinalTarget: true)!.FullName;
            var info = new FileInfo(target);
            if (!info.Exists)
            {
                throw AgentScopeException.InvalidInput($"no file {target} (the link {path} points to nothing)");
            }

            if (info.Length > MaxBytes)
            {
                throw AgentScopeException.InvalidInput($"{path} is larger than {MaxBytes} bytes; that is not a .env file");
            }

            var bytes = await File.ReadAllBytesAsync(target, ct).ConfigureAwait(false);
            var valid = true;
            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                valid = false;
                text = new UTF8Encoding(false).GetString(bytes);
            }

            return new EnvFile(path, target, bytes, text, valid, OperatingSystem.IsWindows() ? null : File.GetUnixFileMode(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AgentScopeException.InvalidInput($"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>True when the file still holds the bytes that were read (nobody edited it meanwhile).</summary>
    public async Task<bool> IsUnchangedAsync(CancellationToken ct)
    {
        try
        {
            return (await File.ReadAllBytesAsync(Target, ct).ConfigureAwait(false)).AsSpan().SequenceEqual(Bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Copies the original bytes to <c>&lt;file&gt;.bak</c> (or <c>.bak.1</c>, ... if taken), readable by the owner only.</summary>
    public string WriteBackup()
    {
        for (var i = 0; i < 100; i++)
        {
            var backup = Target + (i == 0 ? ".bak" : $".bak.{i}");
            try
            {
                WriteNew(backup, Bytes);
                return backup;
            }
            catch (IOException) when (File.Exists(backup))
            {
                // taken: try the next name; an existing backup is never overwritten
            }
        }

        throw new IOException($"no free backup name next to {Target}");
    }

    /// <summary>Replaces the file with <paramref name="text"/> atomically, keeping its permissions.</summary>
    public void Replace(string text)
    {
        var dir = System.IO.Path.GetDirectoryName(Target)!;
        var temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(Target)}.agentscope-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        try
        {
            WriteNew(temp, new UTF8Encoding(false).GetBytes(text));
            if (Mode is { } mode && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, mode);
            }

            File.Move(temp, Target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    // Created owner-only (no window in which another user could open it), flushed through to the disk.
    private static void WriteNew(string path, byte[] bytes)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using var stream = new FileStream(path, options);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
}
