using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentScope.Testing.Emulators.AzureKeyVault;

/// <summary>
/// An HTTP <c>CONNECT</c> proxy on 127.0.0.1 (a free port) that tunnels every connection to one loopback port, whatever
/// host the client names. A child process given <c>HTTPS_PROXY</c> can then use a real-looking Key Vault URI
/// (<see cref="TestCertificate.VaultHostName"/>) and still reach the emulator: the name is never resolved, because a
/// client behind a proxy leaves that to the proxy (RFC 9110, CONNECT).
/// </summary>
public sealed class LoopbackConnectProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _authorities = new();
    private readonly Task _accepting;

    /// <summary>Starts the proxy; every tunnel goes to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public LoopbackConnectProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's address, for <c>HTTPS_PROXY</c>.</summary>
    public Uri Address { get; }

    /// <summary>The <c>host:port</c> of every CONNECT received, in order.</summary>
    public IReadOnlyCollection<string> Authorities => _authorities;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => TunnelAsync(client));
        }
    }

    private async Task TunnelAsync(TcpClient client)
    {
        try
        {
            using (client)
            {
                var downstream = client.GetStream();
                var head = await ReadHeadAsync(downstream);
                var requestLine = head?.Split("\r\n")[0].Split(' ');
                if (requestLine is not ["CONNECT", var authority, _])
                {
                    await downstream.WriteAsync("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
                    return;
                }

                _authorities.Enqueue(authority);
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                await downstream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), _stop.Token);
                var up = upstream.GetStream();
                // Either side closing ends the tunnel; disposing both sockets ends the other copy.
                await Task.WhenAny(downstream.CopyToAsync(up, _stop.Token), up.CopyToAsync(downstream, _stop.Token));
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A client or the emulator went away: nothing to report.
        }
    }

    // The request head, up to the blank line; null if the client closes first or sends more than 8 KB.
    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 8192)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            head.Add(one[0]);
            if (head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n')
            {
                return Encoding.ASCII.GetString(head.ToArray());
            }
        }

        return null;
    }
}
