using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentScope.Backends;
using AgentScope.Providers.AzureKeyVault;
using AgentScope.Testing.Emulators.AwsSecretsManager;
using AgentScope.Testing.Emulators.AzureKeyVault;
using AgentScope.Testing.Emulators.HashiCorpVault;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Cli.Tests;

/// <summary>
/// The built <c>agentscope</c>, run as a user would, on each remote backend: <c>init --backend ...</c> writes the home,
/// and every later command reaches the backend through that home's <c>agentscope.json</c>. The backends are the providers'
/// test servers; what they hold is read from the servers' own state, not through AgentScope.
/// </summary>
public sealed class RemoteBackendCliTests : IDisposable
{
    private readonly CliProcess _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task The_cli_runs_an_agent_lifecycle_on_hashicorp_vault()
    {
        await using var vault = await VaultTestServer.StartAsync();
        var token = vault.CreateToken();
        var env = new Dictionary<string, string> { ["VAULT_TOKEN"] = token };

        await InitAsync($"init --backend vault --vault-addr {Address(vault.Address)}", env);
        var backend = ReadConfig()["Backend"]!;
        Assert.Equal("HashiCorpVault", (string?)backend["Kind"]);
        Assert.Equal(Address(vault.Address), (string?)backend["Address"]);
        Assert.DoesNotContain(token, File.ReadAllText(ConfigPath), StringComparison.Ordinal);

        var canary = Canary();
        var key = await RunLifecycleUntilRevokeAsync(env, canary);
        Assert.Equal(canary, (string?)vault.ReadData("agentscope/agents/alpha/stripe-refund")!["value"]);
        Assert.Contains("agentscope/agents/alpha/gh", vault.Keys());

        await RevokeAndSweepAsync(env, key, destroyed: 2);
        Assert.DoesNotContain(vault.Keys(), k => k.StartsWith("agentscope/agents/alpha/", StringComparison.Ordinal));
        Assert.Contains("agentscope/agents/_registry/agent.alpha", vault.Keys());
        Assert.DoesNotContain(canary, VaultContents(vault), StringComparison.Ordinal);

        // Every call came from the CLI with the operator's VAULT_TOKEN, none with another token or none at all.
        Assert.NotEmpty(vault.Requests);
        Assert.All(vault.Requests, r => Assert.Equal(token, r.Token));
    }

    [Fact]
    public async Task With_client_side_encryption_vault_holds_only_ciphertext_and_the_cli_still_reads_the_value()
    {
        await using var vault = await VaultTestServer.StartAsync();
        var env = new Dictionary<string, string> { ["VAULT_TOKEN"] = vault.CreateToken() };

        await InitAsync($"init --backend vault --vault-addr {Address(vault.Address)} --client-side-encryption", env);
        Assert.True((bool?)ReadConfig()["Core"]?["ClientSideEncryption"]);
        var key = await CreateAgentAsync("alpha", env);
        var canary = Canary();
        Ok(await _cli.RunAsync("secret put stripe-refund", stdin: canary + "\n", apiKey: key, env: env));

        const string path = "agentscope/agents/alpha/stripe-refund";
        Assert.Equal("true", vault.ReadCustomMetadata(path)!["encrypted"]);
        Assert.Equal("base64", (string?)vault.ReadData(path)!["encoding"]);
        var stored = VaultContents(vault);
        Assert.DoesNotContain(canary, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(canary)), stored, StringComparison.Ordinal);

        var get = Ok(await _cli.RunAsync("secret get stripe-refund", apiKey: key, env: env));
        Assert.Equal(canary + "\n", get.Stdout);
    }

    [Fact]
    public async Task The_cli_runs_an_agent_lifecycle_on_aws_secrets_manager()
    {
        await using var aws = await SecretsManagerTestServer.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = SecretsManagerTestServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = SecretsManagerTestServer.SecretKey,
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            // Hermetic: no shared config or credentials file of whoever runs the tests.
            ["AWS_CONFIG_FILE"] = Path.Combine(_cli.Home, "no-aws-config"),
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_cli.Home, "no-aws-credentials"),
        };

        await InitAsync($"init --backend aws --aws-service-url {aws.Url} --aws-region {SecretsManagerTestServer.Region}", env);
        var backend = ReadConfig()["Backend"]!;
        Assert.Equal("AwsSecretsManager", (string?)backend["Kind"]);
        Assert.Equal(aws.Url.ToString(), (string?)backend["ServiceUrl"]);
        Assert.Equal(SecretsManagerTestServer.Region, (string?)backend["Region"]);
        Assert.DoesNotContain(SecretsManagerTestServer.SecretKey, File.ReadAllText(ConfigPath), StringComparison.Ordinal);

        var canary = Canary();
        var key = await RunLifecycleUntilRevokeAsync(env, canary);
        Assert.Contains(canary, aws.CurrentSecretString("agentscope/alpha/stripe-refund"), StringComparison.Ordinal);
        Assert.Contains("agentscope/alpha/gh", aws.LiveNames());

        await RevokeAndSweepAsync(env, key, destroyed: 2);
        Assert.DoesNotContain(aws.LiveNames(), n => n.StartsWith("agentscope/alpha/", StringComparison.Ordinal));
        Assert.DoesNotContain(aws.ScheduledNames(), n => n.StartsWith("agentscope/alpha/", StringComparison.Ordinal));
        Assert.Contains(aws.LiveNames(), n => n.StartsWith("agentscope/_registry/", StringComparison.Ordinal));

        // Every request was signed with the environment's key and verified by the server.
        Assert.True(aws.TotalCalls > 0);
        Assert.Equal(0, aws.SignatureFailures);
    }

    [Fact]
    public async Task The_cli_runs_an_agent_lifecycle_on_azure_key_vault()
    {
        // The real process, with nothing in AgentScope bent for the test: the SDK keeps its challenge-resource check (the
        // vault's host must end with ".vault.azure.net"), so the process uses a real-looking vault URI and reaches the
        // emulator through HTTPS_PROXY (the proxy tunnels to it; the name is never resolved); it trusts the emulator's
        // certificate through SSL_CERT_FILE (and an empty SSL_CERT_DIR: nothing else is trusted); and DefaultAzureCredential
        // finds an App Service managed identity (IDENTITY_ENDPOINT, IDENTITY_HEADER) served by the emulator.
        await using var emulator = await KeyVaultEmulator.StartAsync();
        await using var proxy = new LoopbackConnectProxy(emulator.VaultUri.Port);
        var vaultUri = new UriBuilder(emulator.VaultUri) { Host = TestCertificate.VaultHostName }.Uri;
        var certificate = Path.Combine(_cli.Home, "emulator-ca.pem");
        await File.WriteAllTextAsync(certificate, TestCertificate.ServerPem);
        var env = new Dictionary<string, string>
        {
            ["SSL_CERT_FILE"] = certificate,
            ["SSL_CERT_DIR"] = Directory.CreateTempSubdirectory("agentscope-no-certs-").FullName,
            ["HTTPS_PROXY"] = proxy.Address.ToString(),
            ["https_proxy"] = proxy.Address.ToString(),
            ["NO_PROXY"] = "127.0.0.1,localhost",
            ["no_proxy"] = "127.0.0.1,localhost",
            ["IDENTITY_ENDPOINT"] = emulator.ManagedIdentityEndpoint.ToString(),
            ["IDENTITY_HEADER"] = KeyVaultEmulator.IdentityHeader,
            // The emulator deletes in 40 ms: poll for it at the emulator's pace, not a real vault's.
            ["AGENTSCOPE__Backend__DeletePollingInterval"] = "00:00:00.015",
        };

        try
        {
            await InitAsync($"init --backend azure --vault-uri {vaultUri} --azure-prefix Team-A", env);
            var backend = ReadConfig()["Backend"]!;
            Assert.Equal("AzureKeyVault", (string?)backend["Kind"]);
            Assert.Equal(vaultUri.ToString(), (string?)backend["VaultUri"]);
            Assert.Equal("Team-A", (string?)backend["NamePrefix"]);

            var canary = Canary();
            var key = await RunLifecycleUntilRevokeAsync(env, canary);
            Assert.Contains(canary, await KeyVaultValuesAsync(emulator), StringComparison.Ordinal);

            await RevokeAndSweepAsync(env, key, destroyed: 2);
            foreach (var label in new[] { "stripe-refund", "gh" })
            {
                Assert.DoesNotContain(SecretNaming.NameOf("team-a", new EntryKey("alpha", label)), emulator.LiveNames(), StringComparer.OrdinalIgnoreCase);
            }

            Assert.Empty(emulator.DeletedNames()); // purged, not merely soft-deleted
            Assert.DoesNotContain(canary, await KeyVaultValuesAsync(emulator), StringComparison.Ordinal);
            Assert.All(emulator.LiveNames(), n => Assert.StartsWith("team-a-", n, StringComparison.Ordinal));

            // Every call went to the vault's own name through the proxy, with the managed identity's token.
            Assert.NotEmpty(proxy.Authorities);
            Assert.All(proxy.Authorities, a => Assert.Equal($"{TestCertificate.VaultHostName}:{vaultUri.Port}", a));
            Assert.True(emulator.ManagedIdentityTokensIssued > 0);
            Assert.DoesNotContain(emulator.Requests, r => r.Status == 401);
            Assert.Empty(emulator.Bugs);
        }
        finally
        {
            Directory.Delete(env["SSL_CERT_DIR"]);
        }
    }

    [Fact]
    public async Task The_agent_lifecycle_runs_on_azure_key_vault_through_the_clis_composition_with_a_host_supplied_credential()
    {
        // In process, through what every CLI command builds (AgentScopeHome.AddServices on the home's agentscope.json),
        // with the credential and transport a host supplies after registration (PostConfigure): the stub credential, the
        // transport that trusts the test certificate, and the challenge resource accepted for 127.0.0.1.
        await using var emulator = await KeyVaultEmulator.StartAsync();
        var home = new AgentScopeHome(_cli.Home);
        home.Create(new JsonObject { ["Kind"] = "AzureKeyVault", ["VaultUri"] = emulator.VaultUri.ToString(), ["NamePrefix"] = "Team-A" },
            clientSideEncryption: false);
        var credential = new StubTokenCredential(KeyVaultEmulator.AcceptedToken);
        var services = new ServiceCollection();
        home.AddServices(services, identityCacheTtl: TimeSpan.Zero);
        services.PostConfigure<AzureKeyVaultOptions>(o =>
        {
            o.Credential = credential;
            o.ConfigureClient = emulator.ConfigureClient;
            o.DeletePollingInterval = TimeSpan.FromMilliseconds(15);
        });
        await using var provider = services.BuildServiceProvider();

        var backend = Assert.IsType<AzureKeyVaultBackend>(provider.GetRequiredService<ISecretBackend>());
        Assert.Equal(emulator.VaultUri, backend.VaultUri);
        var auth = provider.GetRequiredService<AgentScopeAuthenticator>();
        Assert.StartsWith("asa_", await auth.InitializeAsync(), StringComparison.Ordinal); // what init does after writing the home
        var admin = auth.LocalAdmin(new AccessContext { Surface = "cli" });

        var created = await admin.CreateAgentAsync("alpha");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        var canary = Canary();
        await vault.StoreAsync("stripe-refund", new SecretValue(canary));
        await vault.StoreAsync("gh", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });
        Assert.Equal(canary, (await vault.GetAsync("stripe-refund")).Value.Reveal());
        Assert.Equal(["gh", "stripe-refund"], (await vault.ListAsync()).Select(s => s.Label).Order());
        Assert.Matches("^[0-9]{6}$", (await vault.GetTotpAsync("gh")).Code);
        var stripeName = backend.NameOf(new EntryKey("alpha", "stripe-refund"));
        Assert.StartsWith("team-a-", stripeName, StringComparison.Ordinal);
        Assert.Contains(stripeName, emulator.LiveNames(), StringComparer.OrdinalIgnoreCase);
        Assert.Contains(canary, await KeyVaultValuesAsync(emulator), StringComparison.Ordinal);

        Assert.Equal(2, await admin.RevokeAsync("alpha"));
        var refused = await Assert.ThrowsAsync<AgentScopeException>(() => auth.AuthenticateAgentAsync(created.ApiKey));
        Assert.Equal(ErrorKind.AgentRevoked, refused.Kind);
        foreach (var label in new[] { "stripe-refund", "gh" })
        {
            Assert.DoesNotContain(backend.NameOf(new EntryKey("alpha", label)), emulator.LiveNames(), StringComparer.OrdinalIgnoreCase);
        }

        Assert.Empty(emulator.DeletedNames()); // purged, not merely soft-deleted
        Assert.DoesNotContain(canary, await KeyVaultValuesAsync(emulator), StringComparison.Ordinal);
        await foreach (var m in backend.ListAllAsync())
        {
            Assert.True(m.Key.IsRegistry, $"left in the vault: {m.Key}");
        }

        var sweep = await admin.SweepAsync(dryRun: true);
        Assert.Equal(0, sweep.OrphansFound);
        Assert.Empty(sweep.RevokesFinished);
        Assert.NotEmpty(credential.Requests);
        Assert.Empty(emulator.Bugs);
    }

    [Fact]
    public async Task Init_on_a_key_vault_the_cli_cannot_reach_fails_as_unavailable_and_leaves_no_home()
    {
        // Here the vault is unreachable because the CLI process (rightly) does not trust the emulator's self-signed
        // certificate: nothing answers at the HTTP level, so init must fail cleanly and be rerunnable.
        await using var emulator = await KeyVaultEmulator.StartAsync();
        // No retries, so the failure is immediate (AGENTSCOPE__Backend__X overrides agentscope.json).
        var env = new Dictionary<string, string> { ["AGENTSCOPE__Backend__Retry__MaxRetries"] = "0" };

        var init = await _cli.RunAsync($"init --backend azure --vault-uri {emulator.VaultUri}", env: env);

        Assert.Equal(5, init.ExitCode); // backend unavailable
        Assert.Contains("Azure Key Vault", init.Stderr, StringComparison.Ordinal);
        Assert.Empty(init.Stdout);
        Assert.False(File.Exists(ConfigPath));
        Assert.Empty(emulator.LiveNames());
    }

    private string ConfigPath => Path.Combine(_cli.Home, AgentScopeHome.ConfigFileName);

    private JsonNode ReadConfig() => JsonNode.Parse(File.ReadAllText(ConfigPath))!;

    private static string Canary() => "canary-" + Guid.NewGuid().ToString("N");

    // The URI's own form, without the trailing '/' a user would not type.
    private static string Address(Uri uri) => uri.ToString().TrimEnd('/');

    private static CliProcess.Result Ok(CliProcess.Result result)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        return result;
    }

    private async Task InitAsync(string args, IDictionary<string, string> env)
    {
        var init = Ok(await _cli.RunAsync(args, env: env));
        Assert.StartsWith("asa_", init.Stdout.Trim(), StringComparison.Ordinal);
    }

    private async Task<string> CreateAgentAsync(string id, IDictionary<string, string> env)
    {
        var key = Ok(await _cli.RunAsync($"agent create {id}", env: env)).Stdout.Trim();
        Assert.StartsWith($"ask_{id}_", key, StringComparison.Ordinal);
        return key;
    }

    /// <summary>Agent alpha stores a value (stdin) and a TOTP seed, reads, lists and gets a code. Returns alpha's key.</summary>
    private async Task<string> RunLifecycleUntilRevokeAsync(IDictionary<string, string> env, string canary)
    {
        var key = await CreateAgentAsync("alpha", env);
        Ok(await _cli.RunAsync("secret put stripe-refund", stdin: canary + "\n", apiKey: key, env: env));
        Ok(await _cli.RunAsync("secret put gh --totp", stdin: "JBSWY3DPEHPK3PXP\n", apiKey: key, env: env));

        var get = Ok(await _cli.RunAsync("secret get stripe-refund", apiKey: key, env: env));
        Assert.Equal(canary + "\n", get.Stdout);

        var ls = Ok(await _cli.RunAsync("secret ls --json", apiKey: key, env: env));
        using (var doc = JsonDocument.Parse(ls.Stdout))
        {
            var labels = doc.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("label").GetString()).Order().ToList();
            Assert.Equal(new[] { "gh", "stripe-refund" }, labels);
        }

        Assert.DoesNotContain(canary, ls.Stdout, StringComparison.Ordinal);

        var totp = Ok(await _cli.RunAsync("secret totp gh --json", apiKey: key, env: env));
        using (var doc = JsonDocument.Parse(totp.Stdout))
        {
            Assert.Matches("^[0-9]{6}$", doc.RootElement.GetProperty("code").GetString());
        }

        return key;
    }

    private async Task RevokeAndSweepAsync(IDictionary<string, string> env, string key, int destroyed)
    {
        var revoke = Ok(await _cli.RunAsync("agent revoke alpha --yes --json", env: env));
        using (var doc = JsonDocument.Parse(revoke.Stdout))
        {
            Assert.Equal(destroyed, doc.RootElement.GetProperty("destroyed").GetInt32());
        }

        Assert.Equal(4, (await _cli.RunAsync("secret get stripe-refund", apiKey: key, env: env)).ExitCode);

        var sweep = Ok(await _cli.RunAsync("sweep --dry-run --json", env: env));
        using (var doc = JsonDocument.Parse(sweep.Stdout))
        {
            Assert.Equal(0, doc.RootElement.GetProperty("orphansFound").GetInt32());
            Assert.Empty(doc.RootElement.GetProperty("revokesFinished").EnumerateArray());
        }
    }

    /// <summary>Every live value in the Key Vault emulator, read by another client, as one string to search.</summary>
    private static async Task<string> KeyVaultValuesAsync(KeyVaultEmulator emulator)
    {
        var client = emulator.CreateClient();
        var all = new StringBuilder();
        foreach (var name in emulator.LiveNames())
        {
            all.Append((await client.GetSecretAsync(name)).Value.Value).Append('\n');
        }

        return all.ToString();
    }

    /// <summary>Everything the Vault server stores (data and custom_metadata of every key), as one string to search.</summary>
    private static string VaultContents(VaultTestServer vault)
    {
        var all = new StringBuilder();
        foreach (var k in vault.Keys())
        {
            all.Append(k).Append('\n');
            foreach (var (name, value) in vault.ReadData(k) ?? [])
            {
                all.Append(name).Append('=').Append(value?.ToString()).Append('\n');
            }

            foreach (var (name, value) in vault.ReadCustomMetadata(k) ?? new Dictionary<string, string>())
            {
                all.Append(name).Append('=').Append(value).Append('\n');
            }
        }

        return all.ToString();
    }
}
