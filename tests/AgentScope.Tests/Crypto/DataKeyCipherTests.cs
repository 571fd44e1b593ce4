using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AgentScope.Crypto;

namespace AgentScope.Tests.Crypto;

public sealed class DataKeyCipherTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    // The associated data as documented in EntryCipher, built independently: format, then length-prefixed agent and label, then version.
    private static byte[] Aad(string agent, string label, long version)
    {
        var a = Encoding.UTF8.GetBytes(agent);
        var l = Encoding.UTF8.GetBytes(label);
        var aad = new byte[2 + 2 + a.Length + 2 + l.Length + 8];
        BinaryPrimitives.WriteUInt16BigEndian(aad, 1);
        BinaryPrimitives.WriteUInt16BigEndian(aad.AsSpan(2), (ushort)a.Length);
        a.CopyTo(aad, 4);
        BinaryPrimitives.WriteUInt16BigEndian(aad.AsSpan(4 + a.Length), (ushort)l.Length);
        l.CopyTo(aad, 6 + a.Length);
        BinaryPrimitives.WriteInt64BigEndian(aad.AsSpan(6 + a.Length + l.Length), version);
        return aad;
    }

    [Fact]
    public void The_stored_layout_is_unchanged_format_byte_nonce_ciphertext_tag_under_the_documented_aad()
    {
        using var cipher = new DataKeyCipher(Key);
        var stored = cipher.Encrypt("support-bot", "stripe-key", 3, "sk_live_x"u8);

        Assert.Equal(1, stored[0]);
        Assert.Equal(EntryCipher.Overhead + 9, stored.Length);
        using var aes = new AesGcm(Key, 16);
        var plain = new byte[9];
        aes.Decrypt(stored.AsSpan(1, 12), stored.AsSpan(13, 9), stored.AsSpan(^16), plain, Aad("support-bot", "stripe-key", 3));
        Assert.Equal("sk_live_x"u8.ToArray(), plain);

        // And the other way: a value written before the pool existed still reads.
        var old = new byte[EntryCipher.Overhead + 9];
        old[0] = 1;
        RandomNumberGenerator.Fill(old.AsSpan(1, 12));
        aes.Encrypt(old.AsSpan(1, 12), "sk_live_y"u8, old.AsSpan(13, 9), old.AsSpan(^16), Aad("support-bot", "stripe-key", 4));
        Assert.Equal("sk_live_y"u8.ToArray(), cipher.Decrypt("support-bot", "stripe-key", 4, old));
    }

    [Fact]
    public void A_value_does_not_decrypt_under_another_agent_label_or_version()
    {
        using var cipher = new DataKeyCipher(Key);
        var stored = cipher.Encrypt("a", "db", 1, "v"u8);

        foreach (var (agent, label, version) in new[] { ("b", "db", 1L), ("a", "dc", 1L), ("a", "db", 2L), ("ad", "b", 1L) })
        {
            var e = Assert.Throws<AgentScopeException>(() => cipher.Decrypt(agent, label, version, stored));
            Assert.Equal(ErrorKind.BackendPermission, e.Kind);
        }
    }

    [Fact]
    public async Task Many_threads_sharing_one_cipher_each_get_their_own_values_back()
    {
        using var cipher = new DataKeyCipher(Key);
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var value = Encoding.UTF8.GetBytes($"value-{t}-{i}-" + new string('x', i % 50));
                var stored = cipher.Encrypt("agent", $"label-{t}", i, value);
                if (!cipher.Decrypt("agent", $"label-{t}", i, stored).AsSpan().SequenceEqual(value))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })));

        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task A_disposed_cipher_still_serves_calls_in_flight_and_after()
    {
        var cipher = new DataKeyCipher(Key);
        var stored = cipher.Encrypt("a", "db", 1, "v"u8);
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var reads = 0;
            while (!stop.IsCancellationRequested || reads == 0)
            {
                Assert.Equal("v"u8.ToArray(), cipher.Decrypt("a", "db", 1, stored));
                reads++;
            }
        })).ToArray();

        await Task.Delay(50);
        cipher.Dispose(); // the session was dropped from the cache while reads were running
        await Task.Delay(50);
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.Equal("v"u8.ToArray(), cipher.Decrypt("a", "db", 1, stored));
    }
}
