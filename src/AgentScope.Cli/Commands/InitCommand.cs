using System.CommandLine;
using System.Text.Json.Nodes;

namespace AgentScope.Cli.Commands;

/// <summary>
/// <c>agentscope init [--backend local|vault|aws|azure]</c>: creates the home and prints the admin key once, alone on stdout.
/// Remote credentials are not stored: Vault reads VAULT_TOKEN (or AppRole/Kubernetes files), AWS its standard credential chain.
/// </summary>
internal sealed class InitCommand : Command
{
    public Option<string> Backend { get; } = new("--backend")
    {
        Description = "Where secrets live: local (embedded encrypted store), vault (HashiCorp Vault KV v2), aws (AWS Secrets Manager), azure (Azure Key Vault)",
        DefaultValueFactory = _ => "local",
    };

    public Option<string?> VaultAddr { get; } = new("--vault-addr") { Description = "Vault address (default: $VAULT_ADDR)" };
    public Option<string?> VaultMount { get; } = new("--vault-mount") { Description = "KV v2 mount (default: secret)" };
    public Option<string?> VaultAuth { get; } = new("--vault-auth") { Description = "token (default; $VAULT_TOKEN), approle or kubernetes" };
    public Option<string?> VaultRoleId { get; } = new("--vault-role-id") { Description = "AppRole role_id" };
    public Option<string?> VaultSecretIdFile { get; } = new("--vault-secret-id-file") { Description = "File holding the AppRole secret_id" };
    public Option<string?> VaultRole { get; } = new("--vault-k8s-role") { Description = "Kubernetes auth role" };
    public Option<string?> AwsRegion { get; } = new("--aws-region") { Description = "AWS region (default: the SDK's resolution, e.g. $AWS_REGION)" };
    public Option<string?> AwsPrefix { get; } = new("--aws-prefix") { Description = "Secret name prefix (default: agentscope)" };
    public Option<string?> AwsServiceUrl { get; } = new("--aws-service-url") { Description = "Custom endpoint (VPC endpoint, emulator)" };
    public Option<string?> AwsKmsKeyId { get; } = new("--aws-kms-key-id") { Description = "KMS key for the secrets (default: the account's aws/secretsmanager key)" };
    public Option<string?> AzureVaultUri { get; } = new("--vault-uri") { Description = "Azure Key Vault URI, e.g. https://my-vault.vault.azure.net/ (DefaultAzureCredential)" };
    public Option<string?> AzurePrefix { get; } = new("--azure-prefix") { Description = "Secret name prefix (default: agentscope)" };
    public Option<bool> ClientSideEncryption { get; } = new("--client-side-encryption")
    {
        Description = "Also encrypt values with each agent's data key before they reach a remote backend (crypto-shredding on revoke)",
    };

    public InitCommand(CliIO io) : base("init", "Create the AgentScope home and print the admin key once")
    {
        Options.Add(Backend);
        foreach (var o in new[] { VaultAddr, VaultMount, VaultAuth, VaultRoleId, VaultSecretIdFile, VaultRole, AwsRegion, AwsPrefix, AwsServiceUrl, AwsKmsKeyId, AzureVaultUri, AzurePrefix })
        {
            Options.Add(o);
        }

        Options.Add(ClientSideEncryption);
        this.SetAction(io, async (ctx, ct) =>
        {
            var backend = BackendSection(ctx);
            ctx.Home.Create(backend, ctx.GetValue(ClientSideEncryption));
            string? adminKey;
            try
            {
                adminKey = await ctx.Authenticator.InitializeAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                // The backend refused or was unreachable: leave no half-made home behind, so init can simply be rerun.
                File.Delete(ctx.Home.ConfigPath);
                throw;
            }

            var kind = backend["Kind"]!.GetValue<string>();
            await ctx.IO.Error.WriteLineAsync($"Initialised {ctx.Home.Path} ({kind} backend, master key in keys/master.key).").ConfigureAwait(false);
            if (adminKey is null)
            {
                await ctx.IO.Error.WriteLineAsync("The backend already holds an AgentScope registry: use an existing admin key.").ConfigureAwait(false);
                return CliRunner.Ok;
            }

            await ctx.IO.Error.WriteLineAsync("The admin key for the REST admin API follows; it is shown only once:").ConfigureAwait(false);
            await ctx.IO.Out.WriteLineAsync(adminKey).ConfigureAwait(false);
            return CliRunner.Ok;
        });
    }

    private JsonObject BackendSection(CliContext ctx)
    {
        var section = new JsonObject();
        void Set(string key, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                section[key] = value;
            }
        }

        switch (ctx.GetValue(Backend).ToLowerInvariant())
        {
            case "local":
                section["Kind"] = "Local";
                section["Path"] = "store.db";
                break;
            case "vault" or "hashicorpvault":
                section["Kind"] = "HashiCorpVault";
                Set("Address", ctx.GetValue(VaultAddr) ?? Environment.GetEnvironmentVariable("VAULT_ADDR"));
                if (!section.ContainsKey("Address"))
                {
                    throw AgentScopeException.InvalidInput("--vault-addr (or VAULT_ADDR) is required for the vault backend");
                }

                Set("Mount", ctx.GetValue(VaultMount));
                var auth = new JsonObject { ["Method"] = (ctx.GetValue(VaultAuth) ?? "token").ToLowerInvariant() switch
                {
                    "token" => "Token",
                    "approle" => "AppRole",
                    "kubernetes" or "k8s" => "Kubernetes",
                    var other => throw AgentScopeException.InvalidInput($"unknown --vault-auth '{other}': use token, approle or kubernetes"),
                } };
                if (ctx.GetValue(VaultRoleId) is { } roleId)
                {
                    auth["RoleId"] = roleId;
                }

                if (ctx.GetValue(VaultSecretIdFile) is { } secretIdFile)
                {
                    auth["SecretIdFile"] = Path.GetFullPath(secretIdFile);
                }

                if (ctx.GetValue(VaultRole) is { } role)
                {
                    auth["Role"] = role;
                }

                section["Auth"] = auth;
                break;
            case "aws" or "awssecretsmanager":
                section["Kind"] = "AwsSecretsManager";
                Set("Region", ctx.GetValue(AwsRegion));
                Set("Prefix", ctx.GetValue(AwsPrefix));
                Set("ServiceUrl", ctx.GetValue(AwsServiceUrl));
                Set("KmsKeyId", ctx.GetValue(AwsKmsKeyId));
                break;
            case "azure" or "azurekeyvault":
                section["Kind"] = "AzureKeyVault";
                Set("VaultUri", ctx.GetValue(AzureVaultUri));
                if (!section.ContainsKey("VaultUri"))
                {
                    throw AgentScopeException.InvalidInput("--vault-uri is required for the azure backend");
                }

                Set("NamePrefix", ctx.GetValue(AzurePrefix));
                break;
            case var other:
                throw AgentScopeException.InvalidInput($"unknown backend '{other}': use local, vault, aws or azure");
        }

        return section;
    }
}
