using AgentScope.Backends;
using AgentScope.Testing.Emulators.AzureKeyVault;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Providers.AzureKeyVault.Tests;

/// <summary>Options validation and registration from code and from the <c>Backend</c> section of agentscope.json.</summary>
public sealed class AzureKeyVaultRegistrationTests
{
    [Fact]
    public void Every_options_problem_is_reported_at_once()
    {
        var options = new AzureKeyVaultOptions
        {
            VaultUri = new Uri("http://contoso.vault.azure.net/"),
            NamePrefix = "bad.prefix",
            MaxConcurrency = 0,
            DeletePollingInterval = TimeSpan.Zero,
            SoftDeleteTimeout = TimeSpan.FromSeconds(-1),
            Retry = { MaxRetries = 21, Delay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(1), NetworkTimeout = TimeSpan.Zero },
        };

        var ex = Assert.Throws<AgentScopeException>(options.Validate);

        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
        foreach (var name in new[] { "VaultUri", "NamePrefix", "MaxConcurrency", "DeletePollingInterval", "SoftDeleteTimeout", "Retry.MaxRetries", "Retry.MaxDelay", "Retry.NetworkTimeout" })
        {
            Assert.Contains(name, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_missing_vault_uri_is_refused_by_the_constructor()
    {
        var ex = Assert.Throws<AgentScopeException>(() => new AzureKeyVaultBackend(new AzureKeyVaultOptions()));
        Assert.Contains("VaultUri is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_valid_once_a_vault_uri_is_given()
    {
        var options = new AzureKeyVaultOptions { VaultUri = new Uri("https://contoso.vault.azure.net/") };
        options.Validate();
        Assert.Equal("agentscope", options.NamePrefix);
        Assert.Equal(8, options.MaxConcurrency);
        Assert.Equal(5, options.Retry.MaxRetries);
    }

    [Fact]
    public void The_backend_section_of_agentscope_json_binds_every_key()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Backend:Type"] = "azure",
            ["Backend:VaultUri"] = "https://contoso.vault.azure.net/",
            ["Backend:NamePrefix"] = "team-a",
            ["Backend:TenantId"] = "72f988bf-86f1-41af-91ab-2d7cd011db47",
            ["Backend:ManagedIdentityClientId"] = "0b1c2d3e-0000-0000-0000-000000000001",
            ["Backend:MaxConcurrency"] = "16",
            ["Backend:DeletePollingInterval"] = "00:00:02",
            ["Backend:SoftDeleteTimeout"] = "00:05:00",
            ["Backend:Retry:MaxRetries"] = "7",
            ["Backend:Retry:Delay"] = "00:00:00.5",
            ["Backend:Retry:MaxDelay"] = "00:00:20",
            ["Backend:Retry:NetworkTimeout"] = "00:01:00",
        }).Build().GetSection("Backend");

        var options = new AzureKeyVaultOptions();
        section.Bind(options);
        Assert.Equal(new Uri("https://contoso.vault.azure.net/"), options.VaultUri);
        Assert.Equal("team-a", options.NamePrefix);
        Assert.Equal("72f988bf-86f1-41af-91ab-2d7cd011db47", options.TenantId);
        Assert.Equal("0b1c2d3e-0000-0000-0000-000000000001", options.ManagedIdentityClientId);
        Assert.Equal(16, options.MaxConcurrency);
        Assert.Equal(TimeSpan.FromSeconds(2), options.DeletePollingInterval);
        Assert.Equal(TimeSpan.FromMinutes(5), options.SoftDeleteTimeout);
        Assert.Equal(7, options.Retry.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Retry.Delay);
        Assert.Equal(TimeSpan.FromSeconds(20), options.Retry.MaxDelay);
        Assert.Equal(TimeSpan.FromMinutes(1), options.Retry.NetworkTimeout);

        using var provider = new ServiceCollection().AddAzureKeyVault(section).BuildServiceProvider();
        var backend = Assert.IsType<AzureKeyVaultBackend>(provider.GetRequiredService<ISecretBackend>());
        Assert.Same(backend, provider.GetRequiredService<AzureKeyVaultBackend>());
        Assert.Equal(new Uri("https://contoso.vault.azure.net/"), backend.VaultUri);
        Assert.Equal(16, backend.Capabilities.MaxConcurrency);
    }

    [Fact]
    public void A_bad_configuration_fails_at_registration()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Backend:VaultUri"] = "https://contoso.vault.azure.net/",
            ["Backend:NamePrefix"] = "no_underscores",
        }).Build().GetSection("Backend");

        var ex = Assert.Throws<AgentScopeException>(() => new ServiceCollection().AddAzureKeyVault(section));
        Assert.Contains("NamePrefix", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registration_from_code_replaces_any_earlier_backend()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ISecretBackend>(new InMemorySecretBackend());
        services.AddAzureKeyVault(o => o.VaultUri = new Uri("https://contoso.vault.azure.net/"));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<AzureKeyVaultBackend>(provider.GetRequiredService<ISecretBackend>());
    }

    [Fact]
    public async Task A_host_supplies_the_credential_and_transport_after_registering_from_configuration()
    {
        await using var vault = await KeyVaultEmulator.StartAsync();
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Backend:VaultUri"] = vault.VaultUri.ToString(),
            ["Backend:DeletePollingInterval"] = "00:00:00.015",
        }).Build().GetSection("Backend");
        var credential = new StubTokenCredential(KeyVaultEmulator.AcceptedToken);
        var services = new ServiceCollection().AddAzureKeyVault(section);
        services.PostConfigure<AzureKeyVaultOptions>(o =>
        {
            o.Credential = credential;
            o.ConfigureClient = vault.ConfigureClient;
        });
        await using var provider = services.BuildServiceProvider();

        var backend = provider.GetRequiredService<ISecretBackend>();
        var key = new EntryKey("alpha", "db");
        var now = DateTimeOffset.UtcNow;
        await backend.PutAsync(new BackendEntry(new EntryMetadata(key, SecretKind.Generic, 1, now, now, null, Encrypted: false), "v"u8.ToArray()));
        Assert.Equal("v"u8.ToArray(), (await backend.GetAsync(key))!.Value);
        Assert.Single(vault.LiveNames());
        Assert.Contains(credential.Requests, r => r.Scopes.Contains("https://vault.azure.net/.default"));
    }

    [Fact]
    public void Options_changed_by_post_configure_are_validated_when_the_backend_is_built()
    {
        var services = new ServiceCollection().AddAzureKeyVault(o => o.VaultUri = new Uri("https://contoso.vault.azure.net/"));
        services.PostConfigure<AzureKeyVaultOptions>(o => o.MaxConcurrency = 0);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<AgentScopeException>(() => provider.GetRequiredService<ISecretBackend>());
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
        Assert.Contains("MaxConcurrency", ex.Message, StringComparison.Ordinal);
    }
}
