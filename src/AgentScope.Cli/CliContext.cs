using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Cli;

/// <summary>What one command invocation works with: the home, the streams, and the home's services, built on first use.</summary>
internal sealed class CliContext : IAsyncDisposable
{
    private ServiceProvider? _services;

    public CliContext(ParseResult parseResult, CliIO io)
    {
        ParseResult = parseResult;
        IO = io;
        Home = AgentScopeHome.Resolve(parseResult.GetValue(CliOptions.Home));
    }

    public ParseResult ParseResult { get; }
    public CliIO IO { get; }
    public AgentScopeHome Home { get; }

    // A CLI process lives for one command: no identity cache, so it always sees the latest revocation.
    public IServiceProvider Services => _services ??= Home.BuildServices(identityCacheTtl: TimeSpan.Zero);

    public AgentScopeAuthenticator Authenticator => Services.GetRequiredService<AgentScopeAuthenticator>();

    public AgentAdmin Admin => Authenticator.LocalAdmin(new AccessContext { Surface = "cli" });

    public T GetValue<T>(Option<T> option) => ParseResult.GetValue(option)!;

    public T GetValue<T>(Argument<T> argument) => ParseResult.GetValue(argument)!;

    /// <summary>
    /// The vault to act on: with <c>--agent</c>, as administrator on behalf of that agent; otherwise as the agent whose key
    /// is in <c>AGENTSCOPE_API_KEY</c>.
    /// </summary>
    public async Task<AgentVault> OpenVaultAsync(CancellationToken ct)
    {
        var context = new AccessContext { Surface = "cli", Justification = ParseResult.GetValue(CliOptions.Justification) };
        if (ParseResult.GetValue(CliOptions.Agent) is { } agentId)
        {
            return (await Admin.OpenVaultAsync(agentId, ct).ConfigureAwait(false)).WithContext(context);
        }

        var key = Environment.GetEnvironmentVariable("AGENTSCOPE_API_KEY");
        if (string.IsNullOrWhiteSpace(key))
        {
            throw AgentScopeException.InvalidInput("set AGENTSCOPE_API_KEY to act as an agent, or pass --agent <id> to act as administrator");
        }

        return await Authenticator.AuthenticateAgentAsync(key.Trim(), context, ct).ConfigureAwait(false);
    }

    public Task WriteJsonAsync<T>(T value, JsonTypeInfo<T> type) => IO.Out.WriteLineAsync(JsonSerializer.Serialize(value, type));

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync().ConfigureAwait(false);
        }
    }
}
