using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentScope.Audit;

/// <summary>
/// The hash chain shared by every chained sink (the JSON-lines file, PostgreSQL): how a record becomes the bytes that are
/// hashed, and how a sequence of records is checked. A record's hash is the hex SHA-256 of its <c>prev</c> hex (ASCII)
/// followed by its canonical body <c>{"seq":..,...,"prev":"&lt;hex&gt;"}</c>, the JSON-lines line without its hash field.
/// So a record hashes the same whichever sink holds it, and a trail exported from one can be verified as the other.
/// </summary>
internal sealed class AuditRecordSerializer : IDisposable
{
    private readonly ArrayBufferWriter<byte> _body = new(512);
    private readonly Utf8JsonWriter _json;
    private readonly IncrementalHash _hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _prevAscii = new byte[AuditRecordFormat.HashHexLength];
    private readonly byte[] _hashAscii = new byte[AuditRecordFormat.HashHexLength];

    public AuditRecordSerializer() => _json = new Utf8JsonWriter(_body);

    /// <summary>
    /// The canonical body of <paramref name="record"/> without its closing brace (<c>{...,"prev":"&lt;hex&gt;"</c>).
    /// Valid until the next call.
    /// </summary>
    public ReadOnlySpan<byte> BodyWithoutBrace(AuditRecord record)
    {
        _body.ResetWrittenCount();
        _json.Reset();
        JsonSerializer.Serialize(_json, record, AuditJsonContext.Default.AuditRecord);
        _json.Flush();
        return _body.WrittenSpan[..^1];
    }

    /// <summary>Computes the hash of a body (as returned by <see cref="BodyWithoutBrace"/>) chained to <paramref name="prev"/>.</summary>
    public void ComputeHash(string prev, ReadOnlySpan<byte> bodyWithoutBrace, Span<byte> hexDestination)
    {
        Encoding.ASCII.GetBytes(prev.AsSpan(0, Math.Min(prev.Length, AuditRecordFormat.HashHexLength)), _prevAscii);
        AuditRecordFormat.ComputeHash(_hasher, _prevAscii, bodyWithoutBrace, hexDestination);
    }

    /// <summary>The hash of <paramref name="record"/> (chained to its <see cref="AuditRecord.Prev"/>), as lowercase hex.</summary>
    public string Hash(AuditRecord record)
    {
        ComputeHash(record.Prev, BodyWithoutBrace(record), _hashAscii);
        return Encoding.ASCII.GetString(_hashAscii);
    }

    public void Dispose()
    {
        _json.Dispose();
        _hasher.Dispose();
    }
}

/// <summary>
/// Checks records one by one against the chain so far: consecutive sequence numbers from 1, each <c>prev</c> equal to
/// the hash before it, each hash equal to the hash of its content. Reports the first broken link.
/// </summary>
internal sealed class AuditChainVerifier : IDisposable
{
    private readonly IncrementalHash _hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _prevAscii = new byte[AuditRecordFormat.HashHexLength];
    private readonly byte[] _computed = new byte[AuditRecordFormat.HashHexLength];
    private readonly long _watchSeq;

    /// <param name="watchSeq">A sequence number whose hash the caller wants (an anchor); 0 for none.</param>
    public AuditChainVerifier(long watchSeq = 0)
    {
        _watchSeq = watchSeq;
        HashAtWatchedSeq = watchSeq == 0 ? AuditRecordFormat.ZeroHash : null;
    }

    /// <summary>How many records passed.</summary>
    public long Events { get; private set; }

    /// <summary>The hash of the last record that passed (the zero hash before the first).</summary>
    public string LastHash { get; private set; } = AuditRecordFormat.ZeroHash;

    /// <summary>The hash of the record at the watched seq (the zero hash when it is 0), once seen.</summary>
    public string? HashAtWatchedSeq { get; private set; }

    /// <summary>
    /// The problem with <paramref name="record"/>, whose content hashes as <paramref name="bodyWithoutBrace"/> and which
    /// claims the hash <paramref name="hashHex"/>; or null when it extends the chain. <paramref name="where"/> names it
    /// in messages (e.g. <c>line 3</c>).
    /// </summary>
    public string? Check(string where, AuditRecord record, ReadOnlySpan<byte> bodyWithoutBrace, ReadOnlySpan<byte> hashHex)
    {
        if (record.Seq != Events + 1)
        {
            return $"{where}: expected seq {Events + 1} but found {record.Seq} (a record was removed, inserted or reordered)";
        }

        if (record.Prev != LastHash)
        {
            return $"{where}: its prev does not match the hash of the record before it (a record was removed, inserted, reordered or rewritten)";
        }

        Encoding.ASCII.GetBytes(record.Prev, _prevAscii);
        AuditRecordFormat.ComputeHash(_hasher, _prevAscii, bodyWithoutBrace, _computed);
        if (!_computed.AsSpan().SequenceEqual(hashHex))
        {
            return $"{where} (seq {record.Seq}): its hash does not match its content (the record was edited)";
        }

        LastHash = Encoding.ASCII.GetString(_computed);
        Events++;
        if (record.Seq == _watchSeq)
        {
            HashAtWatchedSeq = LastHash;
        }

        return null;
    }

    public void Dispose() => _hasher.Dispose();
}
