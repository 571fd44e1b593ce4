using System.CommandLine;
using AgentScope.Audit.PostgreSql;
using AgentScope.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace AgentScope.Cli.Commands;

/// <summary>
/// <c>agentscope serve</c>: the vault server on Kestrel over the home's store. On a home with no configuration it first
/// creates one on the Local store and prints the admin key once, alone on stdout (like <c>init</c>). Logs go to stderr.
/// Settings: the options below, else the <c>Server</c> section of agentscope.json (<c>Urls</c>, <c>AgentRequestsPerMinute</c>,
/// <c>AdminRequestsPerMinute</c>, <c>FailedAuthenticationsPerMinute</c>, <c>MaxRequestBodyBytes</c>, <c>IdentityCacheTtl</c>,
/// <c>ShutdownTimeout</c>, ...), and <c>Logging</c> / <c>Kestrel</c> sections as in any ASP.NET Core application.
/// With a PostgreSQL audit sink (<c>--audit-postgres</c>, or <c>"Audit": {"Kind": "PostgreSql"}</c>) the database is
/// reached and the audit table created or checked before the server listens: a failure ends the start with exit code 5.
/// </summary>
internal sealed class ServeCommand : Command
{
    public const string DefaultUrls = "http://127.0.0.1:8787";
    private static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    public Option<string?> Urls { get; } = new("--urls")
    {
        Description = $"Where to listen, ';'-separated (default: Server:Urls in agentscope.json, else {DefaultUrls})",
    };

    public Option<int?> RateLimitPerAgent { get; } = new("--rate-limit-per-agent")
    {
        Description = "Requests per minute per agent (default 200; 0 removes the limit, e.g. for benchmarks)",
    };

    public Option<int?> RateLimitFailedAuth { get; } = new("--rate-limit-failed-auth")
    {
        Description = "Failed authentications per minute per client address (default 60; 0 removes the limit)",
    };

    public Option<string?> IdentityCacheTtl { get; } = new("--identity-cache-ttl")
    {
        Description = "How long an identity (keys, status, policy) is cached: bounds how late other replicas see a revoke (default 5s)",
    };

    public Option<string?> AuditPostgres { get; } = new("--audit-postgres")
    {
        Description = "Record the audit trail in PostgreSQL for this run (an Npgsql connection string), whatever agentscope.json's Audit section says; " +
            "checked at start. Prefer PGPASSWORD or a passfile to a password on the command line",
        HelpName = "connection string",
    };

    public ServeCommand(CliIO io) : base("serve", "Run the vault server: the /v0/vault REST API for agents and the admin API")
    {
        Options.Add(Urls);
        Options.Add(RateLimitPerAgent);
        Options.Add(RateLimitFailedAuth);
        Options.Add(IdentityCacheTtl);
        Options.Add(AuditPostgres);
        this.SetAction(io, RunAsync);
    }

    private async Task<int> RunAsync(CliContext ctx, CancellationToken ct)
    {
        var auditPostgres = ctx.GetValue(AuditPostgres);
        if (auditPostgres is not null)
        {
            PostgresTarget.Validate(auditPostgres, "--audit-postgres");
        }

        var home = ctx.Home;
        var created = !home.IsConfigured;
        if (created)
        {
            home.CreateLocal();
        }

        var settings = home.LoadConfiguration();
        var server = settings.GetSection("Server");
        var ttl = ctx.GetValue(IdentityCacheTtl) is { } text ? Durations.Parse(text) : (TimeSpan?)null;

        // No appsettings.json reload: its file watcher would cover the whole home and wake up on every audit append.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = home.Path,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            // Off, not Warning: this category logs nothing above Information, but while it is enabled at any level ASP.NET
            // Core starts an Activity and a logging scope for every request (a few percent of a request's CPU here).
            // Tracing still gets its Activity when an ActivitySource listener (e.g. OpenTelemetry) is registered.
            ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
        });
        builder.Configuration.AddConfiguration(settings); // agentscope.json may tune Logging and Kestrel too
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // stdout is for the admin key
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls(ctx.GetValue(Urls) ?? server["Urls"] ?? DefaultUrls);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = server.GetValue("ShutdownTimeout", DefaultShutdownTimeout));

        home.AddServices(builder.Services, postgresAudit: auditPostgres);

        builder.Services.AddAgentScopeServer(o =>
        {
            server.Bind(o);
            o.AgentRequestsPerMinute = ctx.GetValue(RateLimitPerAgent) ?? o.AgentRequestsPerMinute;
            o.FailedAuthenticationsPerMinute = ctx.GetValue(RateLimitFailedAuth) ?? o.FailedAuthenticationsPerMinute;
            o.IdentityCacheTtl = ttl ?? o.IdentityCacheTtl;
        });

        await using var app = builder.Build();
        app.UseAgentScope();
        app.MapAgentScope();

        // Before listening, so that an unreachable database or a refused login ends the start with one line and exit code 5.
        if (app.Services.GetService<PostgreSqlAuditSink>() is { } postgres)
        {
            await InitializePostgresAsync(postgres, auditPostgres ?? settings["Audit:ConnectionString"], ct).ConfigureAwait(false);
        }

        // Before listening: a new store gets its first admin key, shown once.
        var adminKey = await app.Services.GetRequiredService<AgentScopeAuthenticator>().InitializeAsync(ct).ConfigureAwait(false);
        if (adminKey is not null)
        {
            await ctx.IO.Error.WriteLineAsync(created
                ? $"Initialised {home.Path} (Local store, master key in keys/master.key)."
                : $"Initialised the store configured in {home.ConfigPath}.").ConfigureAwait(false);
            await ctx.IO.Error.WriteLineAsync("The admin key for the admin API follows; it is shown only once:").ConfigureAwait(false);
            await ctx.IO.Out.WriteLineAsync(adminKey).ConfigureAwait(false);
            await ctx.IO.Out.FlushAsync(ct).ConfigureAwait(false);
        }

        try
        {
            await app.RunAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw AgentScopeException.InvalidInput(e.Message + " (pass --urls to listen elsewhere)");
        }

        return CliRunner.Ok;
    }

    private static async Task InitializePostgresAsync(PostgreSqlAuditSink sink, string? connectionString, CancellationToken ct)
    {
        try
        {
            await sink.InitializeAsync(ct).ConfigureAwait(false);
        }
        catch (AgentScopeException e)
        {
            throw new AgentScopeException(e.Kind,
                $"cannot use the PostgreSQL audit sink ({PostgresTarget.Describe(connectionString)}): {PostgresTarget.Scrub(e.Message, connectionString)}");
        }
    }
}
