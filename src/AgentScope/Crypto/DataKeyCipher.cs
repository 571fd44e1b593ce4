using System.Security.Cryptography;

namespace AgentScope.Crypto;

/// <summary>
/// One agent's data key, ready to encrypt and decrypt entries (<see cref="EntryCipher"/>), held by the agent's cached
/// identity session.
/// </summary>
/// <remarks>
/// Creating an <see cref="AesGcm"/> (an OpenSSL cipher context and its key schedule) costs about a microsecond, more than
/// decrypting a typical value with it, and every read used to create one. An instance must not be used by two threads at
/// once, so this keeps a few idle ones and lends one per call: no lock, one interlocked exchange to take and one to give
/// back; when all are lent, a caller gets a new one. <see cref="Dispose"/> (the session was dropped from the cache)
/// disposes the idle instances and, as they come back, the lent ones, so the key schedule does not linger in native
/// memory until the finalizer runs.
/// </remarks>
internal sealed class DataKeyCipher : IDisposable
{
    private readonly byte[] _key;
    private readonly AesGcm?[] _idle = new AesGcm?[Math.Clamp(Environment.ProcessorCount, 2, 16)];
    private volatile bool _disposed;

    public DataKeyCipher(byte[] dataKey) => _key = dataKey;

    public byte[] Encrypt(string agentId, string label, long version, ReadOnlySpan<byte> plaintext)
    {
        var aes = Rent();
        try
        {
            return EntryCipher.Encrypt(aes, agentId, label, version, plaintext);
        }
        finally
        {
            Return(aes);
        }
    }

    public byte[] Decrypt(string agentId, string label, long version, ReadOnlySpan<byte> stored)
    {
        var aes = Rent();
        try
        {
            return EntryCipher.Decrypt(aes, agentId, label, version, stored);
        }
        finally
        {
            Return(aes);
        }
    }

    /// <summary>Disposes the idle instances; lent ones are disposed when they come back. Calls still work (each on a new instance).</summary>
    public void Dispose()
    {
        _disposed = true;
        DisposeIdle();
    }

    private AesGcm Rent()
    {
        for (var i = 0; i < _idle.Length; i++)
        {
            if (Interlocked.Exchange(ref _idle[i], null) is { } aes)
            {
                return aes;
            }
        }

        return new AesGcm(_key, EntryCipher.TagSize);
    }

    private void Return(AesGcm aes)
    {
        if (!_disposed)
        {
            for (var i = 0; i < _idle.Length; i++)
            {
                if (Interlocked.CompareExchange(ref _idle[i], aes, null) is null)
                {
                    if (_disposed)
                    {
                        DisposeIdle(); // Dispose ran meanwhile and may have missed this one
                    }

                    return;
                }
            }
        }

        aes.Dispose();
    }

    private void DisposeIdle()
    {
        for (var i = 0; i < _idle.Length; i++)
        {
            Interlocked.Exchange(ref _idle[i], null)?.Dispose();
        }
    }
}
