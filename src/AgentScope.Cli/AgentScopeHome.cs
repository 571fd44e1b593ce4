using System.Text.Json;
using System.Text.Json.Nodes;
using AgentScope.Audit;
using AgentScope.Audit.PostgreSql;
using AgentScope.Crypto;
using AgentScope.Providers.AwsSecretsManager;
using AgentScope.Providers.AzureKeyVault;
using AgentScope.Providers.HashiCorpVault;
using AgentScope.Providers.Local;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Cli;

/// <summary>
/// The home directory (<c>--home</c>, <c>AGENTSCOPE_HOME</c>, default <c>~/.agentscope</c>): <c>agentscope.json</c> (settings),
/// <c>keys/master.key</c> (0600), the Local store and the audit trail. It turns those settings into a service container.
/// </summary>
internal sealed class AgentScopeHome
{
    public const string ConfigFileName = "agentscope.json";
    private const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public AgentScopeHome(string path) => Path = System.IO.Path.GetFullPath(path);

    public string Path { get; }

    public string ConfigPath => System.IO.Path.Combine(Path, ConfigFileName);

    public bool IsConfigured => File.Exists(ConfigPath);

    public static AgentScopeHome Resolve(string? option)
    {
        var path = option ?? Environment.GetEnvironmentVariable("AGENTSCOPE_HOME");
        if (string.IsNullOrWhiteSpace(path))
        {
            path = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".agentscope");
        }

        return new AgentScopeHome(path);
    }

    /// <summary>Writes the settings of a new home on the Local store, with a fresh master key. Refuses an existing home.</summary>
    public void CreateLocal() => Create(new JsonObject { ["Kind"] = "Local", ["Path"] = "store.db" }, clientSideEncryption: false);

    /// <summary>
    /// Writes the settings of a new home with the given backend section and a fresh master key. Refuses an existing home.
    /// Credentials (tokens, secret ids) are never written here: they come from the environment or files the settings name.
    /// </summary>
    public void Create(JsonObject backend, bool clientSideEncryption)
    {
        if (IsConfigured)
        {
            throw AgentScopeException.InvalidInput($"{Path} is already initialised ({ConfigFileName} exists)");
        }

        CreateDirectory(Path);
        CreateDirectory(System.IO.Path.Combine(Path, "keys"));
        var keyFile = System.IO.Path.Combine(Path, "keys", "master.key");
        if (!File.Exists(keyFile))
        {
            WritePrivate(keyFile, MasterKey.GenerateBase64() + "\n");
        }

        var config = new JsonObject
        {
            ["MasterKeyFile"] = "keys/master.key",
            ["Backend"] = backend,
            ["Audit"] = new JsonObject { ["Kind"] = "JsonLines", ["Path"] = "audit/audit.jsonl" },
        };
        if (clientSideEncryption)
        {
            config["Core"] = new JsonObject { ["ClientSideEncryption"] = true };
        }
        WritePrivate(ConfigPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public IConfiguration LoadConfiguration()
    {
        if (!IsConfigured)
        {
            throw AgentScopeException.InvalidInput($"no AgentScope home at {Path}: run 'agentscope init' first (or pass --home)");
        }

        try
        {
            return new ConfigurationBuilder()
                .AddJsonFile(ConfigPath, optional: false, reloadOnChange: false)
                .AddEnvironmentVariables("AGENTSCOPE__")
                .Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or JsonException)
        {
            throw AgentScopeException.InvalidInput($"{ConfigPath} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>Builds the CLI's container for this home: logging to stderr, plus <see cref="AddServices"/>.</summary>
    public ServiceProvider BuildServices(LogLevel logLevel = LogLevel.Warning, TimeSpan? identityCacheTtl = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true)
            .AddFilter(l => l >= logLevel)
            .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        AddServices(services, identityCacheTtl);
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Registers the core, the backend, the audit sink and the injection engine (section <c>Injection</c>: <c>Timeout</c>,
    /// <c>MaxResponseBytes</c>, ...) as this home's settings say (used by the CLI and by serve).
    /// </summary>
    /// <param name="services">Where to register.</param>
    /// <param name="identityCacheTtl">When set, replaces the core's identity cache TTL.</param>
    /// <param name="postgresAudit">
    /// When set (<c>serve --audit-postgres</c>), the PostgreSQL audit sink with this connection string, whatever the
    /// <c>Audit</c> section's <c>Kind</c>; the section's other PostgreSQL settings (<c>Schema</c>, <c>Table</c>,
    /// <c>AsynchronousCommit</c>, ...) still apply.
    /// </param>
    public void AddServices(IServiceCollection services, TimeSpan? identityCacheTtl = null, string? postgresAudit = null)
    {
        var config = LoadConfiguration();
        services.AddAgentScope(o =>
        {
            config.GetSection("Core").Bind(o);
            o.MasterKey = ReadMasterKey(config);
            if (identityCacheTtl is { } ttl)
            {
                o.IdentityCacheTtl = ttl;
            }
        });
        AddBackend(services, config.GetSection("Backend"));
        if (postgresAudit is not null)
        {
            AddPostgreSqlAudit(services, config.GetSection("Audit"), postgresAudit);
        }
        else
        {
            AddAudit(services, config.GetSection("Audit"));
        }

        services.AddAgentScopeInjection(o => config.GetSection("Injection").Bind(o));
    }

    public string ResolvePath(string relative) => System.IO.Path.IsPathRooted(relative) ? relative : System.IO.Path.Combine(Path, relative);

    private string ReadMasterKey(IConfiguration config)
    {
        if (Environment.GetEnvironmentVariable("AGENTSCOPE_MASTER_KEY") is { Length: > 0 } fromEnv)
        {
            return fromEnv;
        }

        if (config["MasterKey"] is { Length: > 0 } inline)
        {
            return inline;
        }

        var file = ResolvePath(config["MasterKeyFile"] ?? "keys/master.key");
        try
        {
            return File.ReadAllText(file).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AgentScopeException.InvalidInput($"cannot read the master key file {file}: {e.Message}");
        }
    }

    private void AddBackend(IServiceCollection services, IConfigurationSection section)
    {
        var kind = section["Kind"] ?? "Local";
        switch (kind.ToLowerInvariant())
        {
            case "local":
                services.AddLocalStore(o => o.Path = ResolvePath(section["Path"] ?? "store.db"));
                break;
            case "hashicorpvault" or "vault":
                services.AddHashiCorpVault(section);
                break;
            case "awssecretsmanager" or "aws":
                services.AddAwsSecretsManager(section);
                break;
            case "azurekeyvault" or "azure":
                services.AddAzureKeyVault(section);
                break;
            default:
                throw AgentScopeException.InvalidInput($"unknown backend kind '{kind}' in {ConfigFileName}: use Local, HashiCorpVault, AwsSecretsManager or AzureKeyVault");
        }
    }

    private void AddAudit(IServiceCollection services, IConfigurationSection section)
    {
        var kind = section["Kind"] ?? "JsonLines";
        switch (kind.ToLowerInvariant())
        {
            case "jsonlines" or "file":
                services.AddJsonLinesAudit(o =>
                {
                    o.Path = ResolvePath(section["Path"] ?? "audit/audit.jsonl");
                    o.Durable = section.GetValue("Durable", false);
                });
                break;
            case "postgresql" or "postgres":
                AddPostgreSqlAudit(services, section, connectionString: null);
                break;
            case "none":
                services.AddSingleton<IAuditSink>(NullAuditSink.Instance);
                break;
            default:
                throw AgentScopeException.InvalidInput($"unknown audit kind '{kind}' in {ConfigFileName}: use JsonLines, PostgreSql or None");
        }
    }

    // ConnectionString, Schema, Table, BestEffort, AsynchronousCommit, MaxBatchSize, MaxBatchDelay, MaxQueueLength,
    // QueryPageSize; any of them may come from the environment instead (AGENTSCOPE__Audit__ConnectionString).
    private static void AddPostgreSqlAudit(IServiceCollection services, IConfigurationSection section, string? connectionString) =>
        services.AddPostgreSqlAudit(o =>
        {
            section.Bind(o);
            o.ConnectionString = connectionString ?? o.ConnectionString;
        });

    private static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, DirMode);
        }
    }

    private static void WritePrivate(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFileMode;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }
}
