using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Injection;
using AgentScope.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Tests.Injection;

public sealed class InjectedRequestExecutorTests : IAsyncLifetime
{
    // Characters that every encoding treats differently: space, plus, slash, equals, quotes, angle brackets, backslash, percent.
    private const string Canary = "sk_live 9+/=\"q'<&>\\ab%41~Zx7";

    private readonly CollectingAuditSink _audit = new();
    private ServiceProvider _services = null!;
    private EchoUpstream _upstream = null!;
    private AgentVault _vault = null!;

    public async Task InitializeAsync()
    {
        _upstream = await EchoUpstream.StartAsync();
        _services = new ServiceCollection()
            .AddAgentScope(o => o.MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))
            .AddSingleton<ISecretBackend>(new InMemorySecretBackend())
            .AddSingleton<IAuditSink>(_audit)
            .BuildServiceProvider();
        _vault = await NewAgentAsync("bot", new AgentPolicy
        {
            Rules =
            [
                new PolicyRule { Labels = "*", Operations = ["read", "write", "delete", "list", "totp"] },
                new PolicyRule { Labels = "stripe", Operations = ["use"], AllowedHosts = ["127.0.0.1"], AllowHttpLoopback = true },
                new PolicyRule { Labels = "gh", Operations = ["use"], AllowedHosts = ["127.0.0.1"], AllowHttpLoopback = true },
                new PolicyRule { Labels = "multiline", Operations = ["use"], AllowedHosts = ["127.0.0.1"], AllowHttpLoopback = true },
                new PolicyRule { Labels = "elsewhere", Operations = ["use"], AllowedHosts = ["api.example.com", "example.invalid"], AllowHttpLoopback = true },
            ],
        });
        await _vault.StoreAsync("stripe", new SecretValue(Canary));
        await _vault.StoreAsync("elsewhere", new SecretValue(Canary));
        await _vault.StoreAsync("multiline", new SecretValue("line1\r\nX-Injected: yes"));
        await _vault.StoreAsync("gh", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _services.DisposeAsync();
    }

    private async Task<AgentVault> NewAgentAsync(string id, AgentPolicy policy)
    {
        var auth = _services.GetRequiredService<AgentScopeAuthenticator>();
        var created = await auth.LocalAdmin().CreateAgentAsync(id, policy: policy);
        return await auth.AuthenticateAgentAsync(created.ApiKey, new AccessContext { Surface = "test" });
    }

    private static InjectedRequestExecutor Executor(InjectionOptions? options = null, HttpMessageHandler? handler = null) => new(options, handler);

    private static string Everything(InjectedResponse r) => JsonSerializer.Serialize(r);

    [Fact]
    public async Task The_upstream_receives_the_value_everywhere_and_the_response_holds_no_trace_of_it()
    {
        using var executor = Executor();
        var response = await executor.SendAsync(_vault, new InjectedRequest
        {
            Method = "POST",
            Url = _upstream.Url("/echo/{{secret:stripe}}/x?inline={{secret:stripe}}"),
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:stripe}}", ["X-Key"] = "{{secret:stripe}}" },
            Query = new Dictionary<string, string> { ["key"] = "{{secret:stripe}}" },
            Body = "{\"key\":\"{{secret:stripe}}\",\"note\":\"hello\"}",
        });

        Assert.Equal(200, response.Status);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("Bearer " + Canary, received.Headers["Authorization"]);
        Assert.Equal(Canary, received.Headers["X-Key"]);
        Assert.Equal(Canary, JsonDocument.Parse(received.Body).RootElement.GetProperty("key").GetString());
        Assert.Equal("application/json", received.Headers["Content-Type"]);
        Assert.Equal($"/echo/{Canary}/x", Uri.UnescapeDataString(received.Path));
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(received.Query);
        Assert.Equal(Canary, query["inline"].ToString());
        Assert.Equal(Canary, query["key"].ToString());

        var returned = Everything(response);
        Assert.Contains("[redacted:stripe]", response.Body, StringComparison.Ordinal);
        Assert.Contains("[redacted:stripe]", response.Headers["X-Echo-Base64"], StringComparison.Ordinal);
        Assert.Empty(SecretTraces.Find(returned, Canary));
        Assert.Empty(SecretTraces.Find(response.Body, Canary));
        foreach (var (name, value) in response.Headers)
        {
            Assert.Empty(SecretTraces.Find(name + ": " + value, Canary));
        }

        // The rest of the echo is intact, and still valid JSON: the marker replaced the value inside its string.
        using var echo = JsonDocument.Parse(response.Body);
        Assert.Equal("{\"key\":\"[redacted:stripe]\",\"note\":\"hello\"}", echo.RootElement.GetProperty("body").GetString());
    }

    [Fact]
    public async Task A_gzip_compressed_response_is_decoded_before_it_is_scrubbed()
    {
        using var executor = Executor();
        var response = await executor.SendAsync(_vault, new InjectedRequest { Url = _upstream.Url("/gzip"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } });
        Assert.Equal(200, response.Status);
        Assert.Contains("[redacted:stripe]", response.Body, StringComparison.Ordinal);
        Assert.True(SecretTraces.Find(Everything(response), Canary).Count == 0, Everything(response));
    }

    [Fact]
    public async Task A_response_in_an_encoding_that_cannot_be_decoded_is_withheld()
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/zstd"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } }));
        Assert.Equal(ErrorKind.UpstreamFailed, e.Kind);
        Assert.Contains("zstd", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_body_gets_the_value_form_encoded()
    {
        using var executor = Executor();
        await executor.SendAsync(_vault, new InjectedRequest
        {
            Method = "POST",
            Url = _upstream.Url("/echo"),
            Headers = new Dictionary<string, string> { ["Content-Type"] = "application/x-www-form-urlencoded" },
            Body = "amount=5&key={{secret:stripe}}",
        });
        var received = Assert.Single(_upstream.Received);
        Assert.Equal(Canary, Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(received.Body)["key"].ToString());
    }

    [Fact]
    public async Task A_plain_text_body_gets_the_value_as_is()
    {
        using var executor = Executor();
        await executor.SendAsync(_vault, new InjectedRequest { Method = "PUT", Url = _upstream.Url("/echo"), Body = "key: {{secret:stripe}}" });
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("key: " + Canary, received.Body);
        Assert.StartsWith("text/plain", received.Headers["Content-Type"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_totp_placeholder_sends_the_current_code_and_scrubs_it()
    {
        using var executor = Executor();
        var response = await executor.SendAsync(_vault, new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["X-Otp"] = "{{totp:gh}}" } });
        var code = Assert.Single(_upstream.Received).Headers["X-Otp"];
        Assert.Matches("^[0-9]{6}$", code);
        Assert.DoesNotContain(code, response.Body, StringComparison.Ordinal);
        Assert.Contains("[redacted:gh]", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("JBSWY3DPEHPK3PXP", Everything(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_not_in_allowed_hosts_is_refused_and_nothing_is_sent()
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:elsewhere}}" } }));
        Assert.Equal(ErrorKind.AccessDenied, e.Kind);
        Assert.Contains("127.0.0.1", e.Message, StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
        Assert.Contains(_audit.Events, a => a.Action == AuditActions.Request && a.Label == "elsewhere" && a.Outcome == AuditOutcomes.Denied);
    }

    [Fact]
    public async Task Every_label_must_allow_the_host()
    {
        using var executor = Executor();
        await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest
        {
            Url = _upstream.Url("/echo"),
            Headers = new Dictionary<string, string> { ["A"] = "{{secret:stripe}}", ["B"] = "{{secret:elsewhere}}" },
        }));
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task Plain_http_to_an_allowed_host_that_is_not_loopback_is_refused_before_any_connection()
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = "http://example.invalid/x", Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:elsewhere}}" } }));
        Assert.Equal(ErrorKind.AccessDenied, e.Kind);
        Assert.Contains("http://example.invalid", e.Message, StringComparison.Ordinal);
        Assert.Contains("allowHttpLoopback", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_totp_seed_is_not_sent_as_a_secret_and_a_generic_value_has_no_code()
    {
        using var executor = Executor();
        var seed = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["X-Otp"] = "{{secret:gh}}" } }));
        Assert.Equal(ErrorKind.AccessDenied, seed.Kind);
        Assert.Contains("{{totp:gh}}", seed.Message, StringComparison.Ordinal);
        var code = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["X-Otp"] = "{{totp:stripe}}" } }));
        Assert.Equal(ErrorKind.InvalidInput, code.Kind);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task A_label_without_the_use_operation_is_refused()
    {
        var vault = await NewAgentAsync("reader", new AgentPolicy { Rules = [new PolicyRule { Labels = "*", Operations = ["read", "write"], AllowedHosts = ["127.0.0.1"], AllowHttpLoopback = true }] });
        await vault.StoreAsync("k", new SecretValue(Canary));
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:k}}" } }));
        Assert.Equal(ErrorKind.AccessDenied, e.Kind);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task A_missing_label_is_not_found_and_nothing_is_sent()
    {
        var vault = await NewAgentAsync("empty", AgentPolicy.FullControl());
        var policy = new AgentPolicy { Rules = [new PolicyRule { Labels = "*", Operations = ["*"], AllowedHosts = ["127.0.0.1"], AllowHttpLoopback = true }] };
        await _services.GetRequiredService<AgentScopeAuthenticator>().LocalAdmin().SetPolicyAsync("empty", policy);
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:nope}}" } }));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Empty(_upstream.Received);
    }

    [Theory]
    [InlineData("http://{{secret:stripe}}/x")]
    [InlineData("http://{{secret:stripe}}.127.0.0.1/x")]
    [InlineData("http://127.0.0.1:{{secret:stripe}}/x")]
    [InlineData("http://{{secret:stripe}}@127.0.0.1/x")]
    [InlineData("{{secret:stripe}}://127.0.0.1/x")]
    [InlineData("{{secret:stripe}}")]
    public async Task A_placeholder_in_the_scheme_host_port_or_user_info_is_refused_before_any_value_is_read(string url)
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest { Url = url }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Empty(_upstream.Received);
        Assert.DoesNotContain(_audit.Events, a => a.Action == AuditActions.Request);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/{{secret:stripe}}")]
    [InlineData("/relative/{{secret:stripe}}")]
    [InlineData("http://user:pw@127.0.0.1/{{secret:stripe}}")]
    public async Task Urls_that_are_not_absolute_http_without_user_info_are_refused(string url)
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest { Url = url }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
    }

    [Fact]
    public async Task A_request_without_any_placeholder_is_refused()
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest { Url = _upstream.Url("/echo") }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Empty(_upstream.Received);
    }

    [Theory]
    [InlineData("Host")]
    [InlineData("host")]
    [InlineData("Accept-Encoding")]
    [InlineData("Transfer-Encoding")]
    [InlineData("Content-Length")]
    [InlineData("Bad Header")]
    [InlineData("X-{{secret:stripe}}")]
    public async Task Headers_that_could_steer_or_frame_the_request_are_refused(string name)
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/echo/{{secret:stripe}}"), Headers = new Dictionary<string, string> { [name] = "x" } }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task A_header_given_twice_in_different_cases_is_refused()
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest
        {
            Url = _upstream.Url("/echo"),
            Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}", ["authorization"] = "other" },
        }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task A_value_with_a_line_break_cannot_be_put_in_a_header()
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["X-Key"] = "{{secret:multiline}}" } }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
        Assert.DoesNotContain("line1", e.Message, StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
    }

    [Theory]
    [InlineData("TRACE")]
    [InlineData("CONNECT")]
    [InlineData("G ET")]
    public async Task Methods_other_than_the_usual_ones_are_refused(string method)
    {
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest { Method = method, Url = _upstream.Url("/{{secret:stripe}}") }));
        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
    }

    [Fact]
    public async Task A_redirect_to_another_host_is_refused_and_not_followed()
    {
        await using var other = await EchoUpstream.StartAsync();
        using var executor = Executor();
        var target = $"http://localhost:{other.Port}/echo";
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest
        {
            Url = _upstream.Url("/redirect?to=" + Uri.EscapeDataString(target)),
            Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" },
        }));
        Assert.Equal(ErrorKind.AccessDenied, e.Kind);
        Assert.Contains("localhost", e.Message, StringComparison.Ordinal);
        Assert.Single(_upstream.Received);
        Assert.Empty(other.Received);
        Assert.Contains(_audit.Events, a => a.Action == AuditActions.Request && a.Outcome == AuditOutcomes.Denied && a.Detail!.EndsWith("-> access_denied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_redirect_to_another_port_of_the_same_host_is_refused()
    {
        await using var other = await EchoUpstream.StartAsync();
        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault, new InjectedRequest
        {
            Url = _upstream.Url("/redirect?to=" + Uri.EscapeDataString(other.Url("/echo"))),
            Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" },
        }));
        Assert.Equal(ErrorKind.AccessDenied, e.Kind);
        Assert.Empty(other.Received);
    }

    [Fact]
    public async Task A_redirect_within_the_same_origin_is_followed_with_the_same_headers()
    {
        using var executor = Executor();
        var response = await executor.SendAsync(_vault, new InjectedRequest
        {
            Url = _upstream.Url("/redirect?to=/echo/landed"),
            Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" },
        });
        Assert.Equal(200, response.Status);
        Assert.Equal(2, _upstream.Received.Count);
        Assert.Equal(Canary, _upstream.Received.Last().Headers["Authorization"]);
        Assert.Equal("/echo/landed", _upstream.Received.Last().Path);
    }

    [Fact]
    public async Task With_redirects_off_a_same_origin_redirect_is_returned_as_it_is()
    {
        using var executor = Executor(new InjectionOptions { MaxRedirects = 0 });
        var response = await executor.SendAsync(_vault, new InjectedRequest
        {
            Url = _upstream.Url("/redirect?to=/echo/{{secret:stripe}}"),
            Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" },
        });
        Assert.Equal(302, response.Status);
        Assert.Single(_upstream.Received);
        Assert.Equal("/echo/[redacted:stripe]", response.Headers["Location"]);
    }

    [Fact]
    public async Task An_oversize_response_is_cut_at_the_limit_and_flagged()
    {
        using var executor = Executor(new InjectionOptions { MaxResponseBytes = 10_000 });
        var response = await executor.SendAsync(_vault, new InjectedRequest { Url = _upstream.Url("/big?n=200000"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } });
        Assert.True(response.Truncated);
        Assert.InRange(response.Body.Length, 9_000, 10_000);
    }

    [Fact]
    public async Task A_response_within_the_limit_is_not_flagged()
    {
        using var executor = Executor(new InjectionOptions { MaxResponseBytes = 10_000 });
        var response = await executor.SendAsync(_vault, new InjectedRequest { Url = _upstream.Url("/big?n=10000"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } });
        Assert.False(response.Truncated);
        Assert.Equal(10_000, response.Body.Length);
    }

    [Fact]
    public async Task A_value_cut_by_the_size_limit_leaves_no_trace()
    {
        for (var limit = 40; limit <= 200; limit += 7)
        {
            using var executor = Executor(new InjectionOptions { MaxResponseBytes = limit });
            var response = await executor.SendAsync(_vault, new InjectedRequest
            {
                Url = _upstream.Url("/status?code=200"),
                Headers = new Dictionary<string, string> { ["A"] = "{{secret:stripe}}" },
            });
            Assert.Empty(SecretTraces.Find(Everything(response), Canary));
        }
    }

    [Fact]
    public async Task Upstream_error_statuses_are_responses_not_failures()
    {
        using var executor = Executor();
        var response = await executor.SendAsync(_vault, new InjectedRequest { Url = _upstream.Url("/status?code=403"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } });
        Assert.Equal(403, response.Status);
        Assert.Contains("[redacted:stripe]", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_upstream_times_out_with_a_typed_error()
    {
        using var executor = Executor(new InjectionOptions { Timeout = TimeSpan.FromMilliseconds(300) });
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/slow?ms=5000"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } }));
        Assert.Equal(ErrorKind.UpstreamFailed, e.Kind);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        Assert.Contains(_audit.Events, a => a.Action == AuditActions.Request && a.Outcome == AuditOutcomes.Error && a.Detail!.EndsWith("-> upstream_failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_connection_is_a_typed_error_without_details_that_could_hold_a_value()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        }

        using var executor = Executor();
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = $"http://127.0.0.1:{port}/{{{{secret:stripe}}}}" }));
        Assert.Equal(ErrorKind.UpstreamFailed, e.Kind);
        Assert.Empty(SecretTraces.Find(e.ToString(), Canary));
    }

    [Fact]
    public async Task The_audit_trail_records_label_host_method_and_status_and_never_the_value()
    {
        using var executor = Executor();
        await executor.SendAsync(_vault, new InjectedRequest
        {
            Method = "post",
            Url = _upstream.Url("/echo/{{secret:stripe}}?q=1"),
            Headers = new Dictionary<string, string> { ["X-Otp"] = "{{totp:gh}}" },
        });
        var requests = _audit.Events.Where(a => a.Action == AuditActions.Request).ToList();
        Assert.Contains(requests, a => a.Label == "stripe" && a.Outcome == AuditOutcomes.Ok && a.Detail == "test use for http://127.0.0.1");
        var done = Assert.Single(requests, a => a.Label == "stripe" && a.Detail!.EndsWith("-> 200", StringComparison.Ordinal));
        Assert.Equal($"test POST http://127.0.0.1:{_upstream.Port}/echo/{{{{secret:stripe}}}} -> 200", done.Detail);
        Assert.Equal("agent:bot", done.Actor);
        Assert.Contains(requests, a => a.Label == "gh" && a.Detail!.EndsWith("-> 200", StringComparison.Ordinal));
        var code = _upstream.Received.Single().Headers["X-Otp"];
        var trail = JsonSerializer.Serialize(_audit.Events);
        Assert.Empty(SecretTraces.Find(trail, Canary));
        Assert.DoesNotContain(code, trail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_to_an_allowed_host_works_with_a_trusted_certificate_and_fails_cleanly_without()
    {
        using var certificate = SelfSignedLoopbackCertificate();
        await using var tls = await EchoUpstream.StartAsync(certificate);
        var vault = await NewAgentAsync("tls", new AgentPolicy { Rules = [new PolicyRule { Labels = "*", Operations = ["*"], AllowedHosts = ["127.0.0.1"] }] });
        await vault.StoreAsync("k", new SecretValue(Canary));
        var request = new InjectedRequest { Url = tls.Url("/echo"), Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:k}}" } };
        Assert.StartsWith("https://", request.Url, StringComparison.Ordinal);

        var trusting = InjectedRequestExecutor.CreateHandler();
        trusting.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString();
        using (var executor = Executor(handler: trusting))
        {
            var response = await executor.SendAsync(vault, request);
            Assert.Equal(200, response.Status);
            Assert.Equal("Bearer " + Canary, tls.Received.Single().Headers["Authorization"]);
            Assert.Empty(SecretTraces.Find(Everything(response), Canary));
        }

        using (var executor = Executor())
        {
            var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(vault, request));
            Assert.Equal(ErrorKind.UpstreamFailed, e.Kind);
            Assert.Contains("TLS", e.Message, StringComparison.Ordinal);
        }

        Assert.Single(tls.Received);
    }

    [Fact]
    public async Task Plain_http_never_goes_to_an_address_that_is_not_loopback_even_through_a_proxy()
    {
        // The policy allowed http to 127.0.0.1; a proxy setting would carry the request, in clear, to another machine.
        var handler = InjectedRequestExecutor.CreateHandler();
        handler.UseProxy = true;
        handler.Proxy = new System.Net.WebProxy("http://192.0.2.1:9") { BypassProxyOnLocal = false };
        using var executor = Executor(handler: handler);
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => executor.SendAsync(_vault,
            new InjectedRequest { Url = _upstream.Url("/echo"), Headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:stripe}}" } }));
        Assert.Equal(ErrorKind.UpstreamFailed, e.Kind);
        Assert.Contains("loopback", e.Message, StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public void Options_are_validated_with_every_problem_at_once()
    {
        var e = Assert.Throws<AgentScopeException>(() => new InjectedRequestExecutor(new InjectionOptions { Timeout = TimeSpan.Zero, MaxResponseBytes = 0, MaxRedirects = -1 }));
        Assert.Contains("Timeout", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxResponseBytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRedirects", e.Message, StringComparison.Ordinal);
    }

    private static X509Certificate2 SelfSignedLoopbackCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}

/// <summary>Keeps every audit event in memory.</summary>
internal sealed class CollectingAuditSink : IAuditSink
{
    private readonly ConcurrentQueue<AuditEvent> _events = new();

    public IReadOnlyList<AuditEvent> Events => [.. _events];

    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        _events.Enqueue(auditEvent);
        return ValueTask.CompletedTask;
    }
}
