using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace AgentScope.Cli.Tests;

/// <summary>Runs the built <c>agentscope serve</c> as a process on a free port, as a user would.</summary>
public sealed class ServeProcessTests : IDisposable
{
    private readonly CliProcess _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Serve_on_a_new_home_prints_the_admin_key_once_serves_the_api_and_stops_cleanly_on_sigterm()
    {
        var port = FreePort();
        string adminKey;
        using (var first = Start(port))
        {
            adminKey = (await first.ReadLineAsync(TimeSpan.FromSeconds(60))) ?? throw new InvalidOperationException("no admin key on stdout");
            Assert.StartsWith("asa_", adminKey, StringComparison.Ordinal);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitHealthyAsync(http, first);

            using var create = new HttpRequestMessage(HttpMethod.Post, "/v0/agents") { Content = JsonContent.Create(new { id = "support-bot" }) };
            create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            using var created = await http.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            Assert.StartsWith("ask_support-bot_", body.RootElement.GetProperty("apiKey").GetString(), StringComparison.Ordinal);

            Assert.Equal(0, await first.StopAsync());
            Assert.Equal(adminKey + "\n", first.Stdout); // the key alone on stdout
            Assert.Contains("shown only once", first.Stderr, StringComparison.Ordinal);
            Assert.Contains("start-up sweep", first.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(adminKey, first.Stderr, StringComparison.Ordinal);
        }

        // The home is initialised now: a second start prints no key, and the first key still works.
        using var second = Start(port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await WaitHealthyAsync(client, second);
        using var list = new HttpRequestMessage(HttpMethod.Get, "/v0/agents");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(list)).StatusCode);
        Assert.Equal(0, await second.StopAsync());
        Assert.Equal("", second.Stdout);
    }

    private ServeProcess Start(int port) => new(_cli.Home, port);

    internal static async Task WaitHealthyAsync(HttpClient http, ServeProcess serve)
    {
        for (var i = 0; i < 120; i++)
        {
            Assert.False(serve.HasExited, "serve exited during start: " + serve.Stderr);
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("serve did not become healthy: " + serve.Stderr);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A running <c>agentscope serve</c> (also used by the MCP remote-mode tests).</summary>
    internal sealed class ServeProcess : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _stdout = new();
        private readonly System.Text.StringBuilder _stderr = new();
        private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public ServeProcess(string home, int port)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "agentscope.dll"));
            psi.ArgumentList.Add("serve");
            psi.ArgumentList.Add("--urls");
            psi.ArgumentList.Add($"http://127.0.0.1:{port}");
            psi.Environment["AGENTSCOPE_HOME"] = home;
            psi.Environment.Remove("AGENTSCOPE_API_KEY");
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_stdout)
                    {
                        _stdout.Append(e.Data).Append('\n');
                    }

                    _lines.Writer.TryWrite(e.Data);
                }
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_stderr)
                    {
                        _stderr.Append(e.Data).Append('\n');
                    }
                }
            };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public bool HasExited => _process.HasExited;

        public string Stdout
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString();
                }
            }
        }

        public async Task<string?> ReadLineAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            return await _lines.Reader.ReadAsync(cts.Token);
        }

        /// <summary>SIGTERM, as a service manager stops it; returns the exit code.</summary>
        public async Task<int> StopAsync()
        {
            if (OperatingSystem.IsWindows())
            {
                _process.Kill();
            }
            else
            {
                using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
        }
    }
}
