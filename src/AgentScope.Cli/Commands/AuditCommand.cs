using System.CommandLine;
using System.Globalization;
using AgentScope.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Cli.Commands;

/// <summary><c>agentscope audit tail|query|verify</c>, on whichever sink the home configures (file or PostgreSQL).</summary>
internal sealed class AuditCommand : Command
{
    public AuditCommand(CliIO io) : base("audit", "Read and verify the audit trail")
    {
        Subcommands.Add(Tail(io));
        Subcommands.Add(Query(io));
        Subcommands.Add(Verify(io));
    }

    private static IAuditTrail Trail(CliContext ctx) => ctx.Services.GetService<IAuditTrail>()
        ?? throw AgentScopeException.InvalidInput("the configured audit sink cannot be read back");

    private static Command Tail(CliIO io)
    {
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the newest events", DefaultValueFactory = _ => 20 };
        var agent = new Option<string?>("--agent") { Description = "Only this agent" };
        var cmd = new Command("tail", "Print the newest audit events (never values)") { lines, agent, CliOptions.Json };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var n = ctx.GetValue(lines);
            if (n is <= 0 or > 100_000)
            {
                throw AgentScopeException.InvalidInput("--lines must be between 1 and 100000");
            }

            var query = new AuditQuery { AgentId = ctx.GetValue(agent), Limit = n, Newest = true };
            await foreach (var e in Trail(ctx).QueryAsync(query, ct).ConfigureAwait(false))
            {
                await WriteEventAsync(ctx, e).ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }

    private static Task WriteEventAsync(CliContext ctx, AuditEvent e) => ctx.IO.Out.WriteLineAsync(ctx.GetValue(CliOptions.Json)
        ? System.Text.Json.JsonSerializer.Serialize(e, CliJson.Compact.AuditEvent)
        : $"{e.Time:u} {e.Actor,-22} {e.Action,-16} {e.AgentId ?? "-",-16} {e.Label ?? "-",-24} {e.Outcome}{(e.Reason is null ? "" : " (" + e.Reason + ")")}");

    private static Command Query(CliIO io)
    {
        var agent = new Option<string?>("--agent") { Description = "Only this agent" };
        var label = new Option<string?>("--label") { Description = "Only this label" };
        var action = new Option<string?>("--action") { Description = "Only this action (read, write, delete, list, totp, request, authenticate, agent.create, agent.policy, agent.rotate_key, agent.revoke, sweep, init)" };
        var outcome = new Option<string?>("--outcome") { Description = "Only this outcome (ok, denied, not_found, error)" };
        var since = new Option<string?>("--since") { Description = "At or after: an ISO-8601 time (UTC unless it says otherwise) or a duration ago (30m, 24h, 7d)" };
        var until = new Option<string?>("--until") { Description = "Before: an ISO-8601 time or a duration ago" };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many events (oldest first)", DefaultValueFactory = _ => 100 };
        var after = new Option<long?>("--after") { Description = "Only events after this seq: the next page starts after the last seq printed" };
        var cmd = new Command("query", "Print the audit events matching every filter given, oldest first, one page at a time (never values)")
        {
            agent, label, action, outcome, since, until, limit, after, CliOptions.Json,
        };
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var n = ctx.GetValue(limit);
            if (n is <= 0 or > 100_000)
            {
                throw AgentScopeException.InvalidInput("--limit must be between 1 and 100000");
            }

            if (ctx.GetValue(after) is < 0)
            {
                throw AgentScopeException.InvalidInput("--after must be a seq (0 or more)");
            }

            var now = DateTimeOffset.UtcNow;
            var query = new AuditQuery
            {
                AgentId = ctx.GetValue(agent),
                Label = ctx.GetValue(label),
                Action = ctx.GetValue(action),
                Outcome = ctx.GetValue(outcome),
                Since = ParseTime(ctx.GetValue(since), "--since", now),
                Until = ParseTime(ctx.GetValue(until), "--until", now),
                Limit = n,
                AfterSeq = ctx.GetValue(after),
            };

            var count = 0;
            long? last = null;
            await foreach (var e in Trail(ctx).QueryAsync(query, ct).ConfigureAwait(false))
            {
                await WriteEventAsync(ctx, e).ConfigureAwait(false);
                count++;
                last = e.Seq;
            }

            if (count == n && last is not null)
            {
                await ctx.IO.Error.WriteLineAsync($"{count} events shown; more may follow: add --after {last}").ConfigureAwait(false);
            }

            return CliRunner.Ok;
        });
        return cmd;
    }

    /// <summary>An ISO-8601 instant (UTC when it names no offset), or a duration before <paramref name="now"/>.</summary>
    internal static DateTimeOffset? ParseTime(string? text, string option, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        try
        {
            return now - Durations.Parse(text);
        }
        catch (AgentScopeException)
        {
            throw AgentScopeException.InvalidInput($"{option} must be an ISO-8601 time (2025-03-01T12:00:00Z) or a duration ago (30m, 24h, 7d)");
        }
    }

    private static Command Verify(CliIO io)
    {
        var cmd = new Command("verify", "Check the audit trail's hash chain; exit 0 when intact, 6 when tampered");
        cmd.SetAction(io, async (ctx, ct) =>
        {
            var result = await Trail(ctx).VerifyAsync(ct).ConfigureAwait(false);
            if (result.Valid)
            {
                await ctx.IO.Out.WriteLineAsync($"audit trail intact: {result.Events} events").ConfigureAwait(false);
                return CliRunner.Ok;
            }

            await ctx.IO.Error.WriteLineAsync($"audit trail BROKEN after {result.Events} events: {result.Problem}").ConfigureAwait(false);
            return 6;
        });
        return cmd;
    }
}
