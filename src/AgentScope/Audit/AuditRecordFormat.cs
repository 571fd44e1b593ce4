using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentScope.Audit;

/// <summary>One line of the JSON-lines audit log. Property order is the on-disk field order.</summary>
internal sealed class AuditRecord
{
    public required long Seq { get; init; }
    public required DateTime Time { get; init; }
    public required string Actor { get; init; }
    public required string Action { get; init; }
    public string? AgentId { get; init; }
    public string? Label { get; init; }
    public required string Outcome { get; init; }
    public string? Reason { get; init; }
    public string? Justification { get; init; }
    public string? RequestId { get; init; }
    public string? Fingerprint { get; init; }
    public string? Detail { get; init; }
    public required string Prev { get; init; }

    /// <summary>Never serialised by the writer (it appends the hash by hand); present when a full line is read back.</summary>
    public string? Hash { get; init; }

    /// <summary>The record of <paramref name="e"/> at <paramref name="seq"/>, chained to <paramref name="prev"/>.</summary>
    public static AuditRecord From(AuditEvent e, long seq, string prev) => new()
    {
        Seq = seq,
        Time = e.Time.UtcDateTime,
        Actor = e.Actor,
        Action = e.Action,
        AgentId = e.AgentId,
        Label = e.Label,
        Outcome = e.Outcome,
        Reason = e.Reason,
        Justification = e.Justification,
        RequestId = e.RequestId,
        Fingerprint = e.Fingerprint,
        Detail = e.Detail,
        Prev = prev,
    };

    public AuditEvent ToEvent() => new()
    {
        Seq = Seq,
        Time = new DateTimeOffset(DateTime.SpecifyKind(Time.ToUniversalTime(), DateTimeKind.Utc)),
        Actor = Actor,
        Action = Action,
        AgentId = AgentId,
        Label = Label,
        Outcome = Outcome,
        Reason = Reason,
        Justification = Justification,
        RequestId = RequestId,
        Fingerprint = Fingerprint,
        Detail = Detail,
    };
}

/// <summary>The content of the <c>.head</c> anchor file: the last sequence number and hash written.</summary>
internal sealed class AuditAnchor
{
    public required long Seq { get; init; }
    public required string Hash { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(AuditAnchor))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;

/// <summary>
/// The byte-level format shared by the writer, the verifier and the reader.
/// A line is <c>{"seq":..,...,"prev":"&lt;hex&gt;","hash":"&lt;hex&gt;"}\n</c>, where
/// hash = SHA-256(prev hex as ASCII + the line's bytes without its hash field, i.e. <c>{...,"prev":"&lt;hex&gt;"}</c>).
/// </summary>
internal static class AuditRecordFormat
{
    /// <summary>The hex length of a SHA-256 hash.</summary>
    public const int HashHexLength = 64;

    /// <summary>The fixed size of the anchor record (JSON padded with spaces, then a newline).</summary>
    public const int AnchorSize = 128;

    /// <summary>The <c>prev</c> of the first record.</summary>
    public static readonly string ZeroHash = new('0', HashHexLength);

    /// <summary>What separates the body from the hash value; cannot occur inside a JSON string, where quotes are escaped.</summary>
    public static ReadOnlySpan<byte> HashMarker => ",\"hash\":\""u8;

    /// <summary>What ends a line after the hash value.</summary>
    public static ReadOnlySpan<byte> LineEnd => "\"}\n"u8;

    /// <summary>Finds the hash field of a line (without its newline): the index of its marker and the hash hex.</summary>
    public static bool TrySplit(ReadOnlySpan<byte> line, out int markerIndex, out ReadOnlySpan<byte> hashHex)
    {
        hashHex = default;
        markerIndex = line.LastIndexOf(HashMarker);
        if (markerIndex < 0)
        {
            return false;
        }

        var rest = line[(markerIndex + HashMarker.Length)..];
        if (rest.Length != HashHexLength + 2 || rest[HashHexLength] != (byte)'"' || rest[HashHexLength + 1] != (byte)'}')
        {
            return false;
        }

        hashHex = rest[..HashHexLength];
        return IsLowerHex(hashHex);
    }

    /// <summary>SHA-256 over the prev hex and the body: the line up to its hash marker, closed with <c>}</c>.</summary>
    public static void ComputeHash(IncrementalHash hasher, ReadOnlySpan<byte> prevHexAscii, ReadOnlySpan<byte> bodyWithoutBrace, Span<byte> hexDestination)
    {
        hasher.AppendData(prevHexAscii);
        hasher.AppendData(bodyWithoutBrace);
        hasher.AppendData("}"u8);
        Span<byte> digest = stackalloc byte[32];
        hasher.GetHashAndReset(digest);
        ToLowerHex(digest, hexDestination);
    }

    public static void ToLowerHex(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = digits[bytes[i] & 0xF];
        }
    }

    public static bool IsLowerHex(ReadOnlySpan<byte> hex)
    {
        foreach (var b in hex)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsLowerHex(string hex) =>
        hex.Length == HashHexLength && hex.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>Parses a full line (without its newline); null when it is not valid JSON or not an audit record.</summary>
    public static AuditRecord? TryParse(ReadOnlySpan<byte> line)
    {
        try
        {
            var record = JsonSerializer.Deserialize(line, AuditJsonContext.Default.AuditRecord);
            return record is { Actor: not null, Action: not null, Outcome: not null, Prev: not null } ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes the fixed-size anchor record for <paramref name="seq"/> and <paramref name="hashHexAscii"/>.</summary>
    public static void FormatAnchor(long seq, ReadOnlySpan<byte> hashHexAscii, Span<byte> destination)
    {
        destination = destination[..AnchorSize];
        destination.Fill((byte)' ');
        var written = 0;
        Append("{\"seq\":"u8, destination, ref written);
        System.Buffers.Text.Utf8Formatter.TryFormat(seq, destination[written..], out var n);
        written += n;
        Append(",\"hash\":\""u8, destination, ref written);
        Append(hashHexAscii, destination, ref written);
        Append("\"}"u8, destination, ref written);
        destination[AnchorSize - 1] = (byte)'\n';

        static void Append(ReadOnlySpan<byte> bytes, Span<byte> to, ref int at)
        {
            bytes.CopyTo(to[at..]);
            at += bytes.Length;
        }
    }

    /// <summary>Parses anchor bytes: empty means "nothing written yet" (seq 0); null means unreadable.</summary>
    public static AuditAnchor? TryParseAnchor(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Trim(" \n\0"u8).IsEmpty)
        {
            return new AuditAnchor { Seq = 0, Hash = ZeroHash };
        }

        try
        {
            var anchor = JsonSerializer.Deserialize(bytes, AuditJsonContext.Default.AuditAnchor);
            return anchor is { Hash: not null, Seq: >= 0 } && IsLowerHex(anchor.Hash) ? anchor : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
