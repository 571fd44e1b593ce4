using System.Net;
using AgentScope.Testing.Emulators.AzureKeyVault;
using Azure;
using Azure.Security.KeyVault.Secrets;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>
/// The emulator itself, driven by the raw SDK client: if it drifted from the documented service behaviour, the
/// provider's tests would prove nothing.
/// </summary>
public sealed class KeyVaultEmulatorTests : IAsyncLifetime
{
    private KeyVaultEmulator _vault = null!;
    private SecretClient _client = null!;

    public async Task InitializeAsync()
    {
        _vault = await KeyVaultEmulator.StartAsync();
        _client = _vault.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Assert.Empty(_vault.Bugs);
        await _vault.DisposeAsync();
    }

    [Fact]
    public async Task It_serves_https_on_loopback_and_sends_the_bearer_challenge_to_unauthenticated_requests()
    {
        Assert.Equal("https", _vault.VaultUri.Scheme);
        Assert.Equal(IPAddress.Loopback.ToString(), _vault.VaultUri.Host);
        using var http = new HttpClient(TestCertificate.CreateTrustingHandler());
        using var response = await http.GetAsync(new Uri(_vault.VaultUri, "secrets?api-version=7.6"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains($"authorization=\"https://login.microsoftonline.com/{KeyVaultEmulator.TenantId}\"", challenge, StringComparison.Ordinal);
        Assert.Contains("resource=\"https://vault.azure.net\"", challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_test_certificate_is_refused()
    {
        using var http = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri(_vault.VaultUri, "secrets?api-version=7.6")));
    }

    [Fact]
    public async Task Requests_without_an_api_version_are_bad_requests()
    {
        using var http = new HttpClient(TestCertificate.CreateTrustingHandler());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_vault.VaultUri, "secrets"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", KeyVaultEmulator.AcceptedToken);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task The_sdk_sends_a_recognised_api_version()
    {
        await _client.SetSecretAsync("a", "v");
        var version = Assert.Single(_vault.ApiVersions);
        Assert.Matches(@"^(\d+\.\d+|\d{4}-\d{2}-\d{2})", version);
    }

    [Fact]
    public async Task A_missing_secret_is_404_secret_not_found()
    {
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => _client.GetSecretAsync("nothing"));
        Assert.Equal(404, ex.Status);
        Assert.Equal("SecretNotFound", ex.ErrorCode);
    }

    [Fact]
    public async Task Names_are_case_insensitive_and_keep_their_first_spelling()
    {
        await _client.SetSecretAsync("Mixed-Case", "one");
        await _client.SetSecretAsync("mixed-case", "two");
        var got = (await _client.GetSecretAsync("MIXED-CASE")).Value;
        Assert.Equal("two", got.Value);
        Assert.Equal("Mixed-Case", got.Name);
        Assert.Single(_vault.LiveNames());
    }

    [Theory]
    [InlineData("has.dot")]
    [InlineData("has_underscore")]
    public async Task Names_outside_the_grammar_are_bad_parameters(string name)
    {
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => _client.SetSecretAsync(name, "v"));
        Assert.Equal(400, ex.Status);
        Assert.Equal("BadParameter", ex.ErrorCode);
    }

    [Fact]
    public async Task A_name_of_128_characters_is_refused_and_127_accepted()
    {
        await _client.SetSecretAsync(new string('n', 127), "v");
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => _client.SetSecretAsync(new string('n', 128), "v"));
        Assert.Equal(400, ex.Status);
    }

    [Fact]
    public async Task Values_over_25600_characters_and_more_than_15_tags_are_refused()
    {
        await _client.SetSecretAsync("max", new string('v', KeyVaultEmulator.MaxValueChars));
        Assert.Equal(400, (await Assert.ThrowsAsync<RequestFailedException>(() => _client.SetSecretAsync("big", new string('v', KeyVaultEmulator.MaxValueChars + 1)))).Status);

        var tagged = new KeyVaultSecret("tagged", "v");
        for (var i = 0; i < KeyVaultEmulator.MaxTags; i++)
        {
            tagged.Properties.Tags[$"t{i}"] = "x";
        }

        await _client.SetSecretAsync(tagged);
        tagged.Properties.Tags["one-too-many"] = "x";
        Assert.Equal(400, (await Assert.ThrowsAsync<RequestFailedException>(() => _client.SetSecretAsync(tagged))).Status);
    }

    [Fact]
    public async Task Listing_pages_by_25_with_next_links_and_never_returns_values()
    {
        for (var i = 0; i < 60; i++)
        {
            await _client.SetSecretAsync($"s{i:D2}", "hidden-value");
        }

        var pages = new List<Page<SecretProperties>>();
        await foreach (var page in _client.GetPropertiesOfSecretsAsync().AsPages())
        {
            pages.Add(page);
        }

        Assert.Equal([25, 25, 10], pages.Select(p => p.Values.Count));
        Assert.NotNull(pages[0].ContinuationToken);
        Assert.Null(pages[^1].ContinuationToken);
        Assert.Equal(60, pages.SelectMany(p => p.Values).Select(p => p.Name).Distinct().Count());
        Assert.All(_vault.Requests.Where(r => r.Operation == "GetSecrets"), r => Assert.Equal(200, r.Status));
    }

    [Theory]
    [InlineData("1", HttpStatusCode.OK)]
    [InlineData("25", HttpStatusCode.OK)]
    [InlineData("26", HttpStatusCode.BadRequest)]
    [InlineData("0", HttpStatusCode.BadRequest)]
    public async Task Maxresults_must_be_between_1_and_25(string maxResults, HttpStatusCode expected)
    {
        using var http = new HttpClient(TestCertificate.CreateTrustingHandler());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_vault.VaultUri, $"secrets?api-version=7.6&maxresults={maxResults}"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", KeyVaultEmulator.AcceptedToken);
        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Deletion_is_asynchronous_and_a_soft_deleted_name_conflicts_until_purged()
    {
        _vault.DeletionDelay = TimeSpan.FromMilliseconds(300);
        await _client.SetSecretAsync("x", "v");
        var operation = await _client.StartDeleteSecretAsync("x");
        Assert.NotNull(operation.Value.RecoveryId);

        // Right after DELETE: not readable, not yet visible as deleted, purge too early, name blocked.
        Assert.Equal(404, (await Assert.ThrowsAsync<RequestFailedException>(() => _client.GetSecretAsync("x"))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<RequestFailedException>(() => _client.GetDeletedSecretAsync("x"))).Status);
        Assert.Equal(409, (await Assert.ThrowsAsync<RequestFailedException>(() => _client.PurgeDeletedSecretAsync("x"))).Status);
        var early = await Assert.ThrowsAsync<RequestFailedException>(() => _client.SetSecretAsync("x", "w"));
        Assert.Equal(409, early.Status);
        Assert.Contains("being deleted", early.Message, StringComparison.Ordinal);

        await operation.WaitForCompletionAsync(TimeSpan.FromMilliseconds(20), default);
        Assert.Equal("x", (await _client.GetDeletedSecretAsync("x")).Value.Name);
        var deleted = new List<string>();
        await foreach (var d in _client.GetDeletedSecretsAsync())
        {
            deleted.Add(d.Name);
        }

        Assert.Equal(["x"], deleted);
        var conflict = await Assert.ThrowsAsync<RequestFailedException>(() => _client.SetSecretAsync("x", "w"));
        Assert.Equal(409, conflict.Status);
        Assert.Contains("deleted but recoverable state", conflict.Message, StringComparison.Ordinal);

        await _client.PurgeDeletedSecretAsync("x");
        Assert.Empty(_vault.DeletedNames());
    }

    [Fact]
    public async Task A_soft_deleted_secret_can_be_recovered_with_its_value()
    {
        await _client.SetSecretAsync("r", "kept");
        var deletion = await _client.StartDeleteSecretAsync("r");
        await deletion.WaitForCompletionAsync(TimeSpan.FromMilliseconds(20), default);

        var recovery = await _client.StartRecoverDeletedSecretAsync("r");
        await recovery.WaitForCompletionAsync(TimeSpan.FromMilliseconds(20), default);

        Assert.Equal("kept", (await _client.GetSecretAsync("r")).Value.Value);
    }

    [Fact]
    public async Task Purge_protection_refuses_purge_with_403()
    {
        _vault.PurgeProtection = true;
        await _client.SetSecretAsync("p", "v");
        var deletion = await _client.StartDeleteSecretAsync("p");
        await deletion.WaitForCompletionAsync(TimeSpan.FromMilliseconds(20), default);
        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => _client.PurgeDeletedSecretAsync("p"));
        Assert.Equal(403, ex.Status);
        Assert.Contains("purge protection", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injected_throttling_carries_retry_after_in_seconds()
    {
        _vault.Faults.FailNext(1, 429, retryAfterSeconds: 7);
        using var http = new HttpClient(TestCertificate.CreateTrustingHandler());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_vault.VaultUri, "secrets?api-version=7.6"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", KeyVaultEmulator.AcceptedToken);
        using var response = await http.SendAsync(request);
        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
    }
}
