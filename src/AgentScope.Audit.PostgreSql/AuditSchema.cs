using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace AgentScope.Audit.PostgreSql;

/// <summary>
/// The audit table's names, SQL and migrations. Each migration runs once, in a transaction holding an advisory lock, so
/// several servers starting together migrate once; the applied versions are rows of <c>&lt;table&gt;_schema_version</c>.
/// </summary>
internal sealed class AuditSchema
{
    /// <summary>The columns of the audit table, in the order the sink writes and reads them.</summary>
    public const string Columns = "seq, time, actor, action, agent_id, label, outcome, reason, justification, request_id, fingerprint, detail, prev, hash";

    public AuditSchema(string schema, string table)
    {
        Schema = schema;
        Table = table;
        QualifiedTable = Quote(schema) + "." + Quote(table);
        VersionTable = Quote(schema) + "." + Quote(table + "_schema_version");
        WriteLockKey = LockKey("write", schema, table);
        MigrateLockKey = LockKey("migrate", schema, table);
    }

    public string Schema { get; }

    public string Table { get; }

    /// <summary><c>"schema"."table"</c>.</summary>
    public string QualifiedTable { get; }

    /// <summary><c>"schema"."table_schema_version"</c>.</summary>
    public string VersionTable { get; }

    /// <summary>The advisory lock every writer of this table holds while it reads the chain's head and appends to it.</summary>
    public long WriteLockKey { get; }

    /// <summary>The advisory lock held while migrating.</summary>
    public long MigrateLockKey { get; }

    /// <summary>The rows the partial action index holds: all but reads, which are nearly every row.</summary>
    public const string SparseAction = "action <> '" + AuditActions.Read + "'";

    /// <summary>The rows the partial outcome index holds: all but successes.</summary>
    public const string SparseOutcome = "outcome <> '" + AuditOutcomes.Ok + "'";

    /// <summary>The version this code writes and reads.</summary>
    public int LatestVersion => Migrations().Count;

    /// <summary>Creates or migrates the schema. With the table already current, it only reads, so an append-only role can run it.</summary>
    public async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var current = await CurrentVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        if (current == LatestVersion)
        {
            return;
        }

        CheckNotNewer(current);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = MigrateLockKey });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        current = await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false); // another server may have migrated meanwhile
        CheckNotNewer(current);
        var migrations = Migrations();
        for (var version = current + 1; version <= migrations.Count; version++)
        {
            await using var command = new NpgsqlCommand(migrations[version - 1], connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand($"INSERT INTO {VersionTable} (version) VALUES ($1)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void CheckNotNewer(int current)
    {
        if (current > LatestVersion)
        {
            throw AgentScopeException.Unavailable(
                $"audit sink unavailable: the audit table {Schema}.{Table} has schema version {current}, newer than this AgentScope understands ({LatestVersion}); upgrade AgentScope");
        }
    }

    private async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        // A query on the catalog rather than to_regclass: it reads with the statement's snapshot, so after waiting for the
        // lock it sees a table another server just created (name lookups may still hold a stale cache entry). It needs no
        // privilege, so it works for a role that may only read and append.
        await using var exists = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)",
            connection, transaction);
        exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Schema });
        exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Table + "_schema_version" });
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
        {
            return 0;
        }

        await using var max = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {VersionTable}", connection, transaction);
        return Convert.ToInt32(await max.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Migration n (1-based) takes the schema from version n-1 to n. Never edit one that shipped; append.</summary>
    private List<string> Migrations()
    {
        var s = Quote(Schema);
        var t = QualifiedTable;
        var guard = Quote(Schema) + "." + Quote(Table + "_append_only");
        return
        [
            $"""
            CREATE SCHEMA IF NOT EXISTS {s};
            CREATE TABLE IF NOT EXISTS {VersionTable} (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE {t} (
                seq bigint PRIMARY KEY CHECK (seq > 0),
                time timestamptz NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                agent_id text,
                label text,
                outcome text NOT NULL,
                reason text,
                justification text,
                request_id text,
                fingerprint text,
                detail text,
                prev text NOT NULL,
                hash text NOT NULL
            );
            COMMENT ON TABLE {t} IS 'AgentScope audit trail: append-only and hash-chained (seq, prev, hash); check it with agentscope audit verify';
            CREATE INDEX {Quote(Table + "_agent_seq")} ON {t} (agent_id, seq);
            CREATE INDEX {Quote(Table + "_label_seq")} ON {t} (label, seq);
            CREATE INDEX {Quote(Table + "_action_seq")} ON {t} (action, seq);
            CREATE INDEX {Quote(Table + "_outcome_seq")} ON {t} (outcome, seq);
            CREATE INDEX {Quote(Table + "_time")} ON {t} (time);
            CREATE FUNCTION {guard}() RETURNS trigger LANGUAGE plpgsql AS $guard$
            BEGIN
                RAISE EXCEPTION 'the AgentScope audit table is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $guard$;
            CREATE TRIGGER {Quote(Table + "_no_update_delete")} BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {guard}();
            CREATE TRIGGER {Quote(Table + "_no_truncate")} BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {guard}();
            """,
            // Version 2: cheaper appends. Every append maintains every index while it holds the chain's lock, so index
            // upkeep is on the critical path of each commit. Reads and successes are nearly every row: the action and
            // outcome indexes leave them out (a query for them is a dense walk of the primary key anyway; the sink adds
            // the matching predicate to a query for any other value, so the planner can use these). Time follows seq, so
            // a BRIN index (one summary per block range) serves time ranges for a fraction of a B-tree's upkeep.
            $"""
            DROP INDEX {s}.{Quote(Table + "_action_seq")};
            DROP INDEX {s}.{Quote(Table + "_outcome_seq")};
            DROP INDEX {s}.{Quote(Table + "_time")};
            CREATE INDEX {Quote(Table + "_action_seq")} ON {t} (action, seq) WHERE {SparseAction};
            CREATE INDEX {Quote(Table + "_outcome_seq")} ON {t} (outcome, seq) WHERE {SparseOutcome};
            CREATE INDEX {Quote(Table + "_time")} ON {t} USING brin (time);
            """,
        ];
    }

    /// <summary>Quotes an identifier (already validated as lowercase letters, digits and underscores).</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static long LockKey(string purpose, string schema, string table) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"agentscope.audit/{purpose}/{schema}.{table}")));
}
