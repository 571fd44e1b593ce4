using System.Text.Json;
using AgentScope.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentScope.Configuration;

/// <summary>
/// Loads an agent's secrets in one batch round trip, then (with a reload interval) polls versions and refetches only
/// what changed, firing the change token only on change. A failed reload keeps the last good values and is reported
/// through <see cref="AgentScopeConfigurationSource.OnLoadException"/> and the logger; it never throws into the host.
/// </summary>
internal sealed class AgentScopeConfigurationProvider : ConfigurationProvider, IDisposable
{
    private readonly AgentScopeConfigurationSource _source;
    private readonly AgentScopeClient _client;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Dictionary<string, VaultSecret> _loaded = new(StringComparer.Ordinal);
    private Task? _reloadLoop;

    public AgentScopeConfigurationProvider(AgentScopeConfigurationSource source)
    {
        _source = source;
        _logger = source.LoggerFactory?.CreateLogger("AgentScope.Configuration") ?? NullLogger.Instance;
        var options = new AgentScopeClientOptions { Endpoint = source.Endpoint, ApiKey = source.ApiKey };
        source.ConfigureClient?.Invoke(options);
        _http = source.HttpMessageHandler is { } handler ? new HttpClient(handler, disposeHandler: false) : new HttpClient();
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _client = new AgentScopeClient(_http, Options.Create(options));
    }

    /// <summary>Loads everything (the first time, and on <c>IConfigurationRoot.Reload()</c>).</summary>
    public override void Load()
    {
        var first = _reloadLoop is null;
        try
        {
            // ConfigurationProvider.Load is synchronous by contract; the wait happens once at startup or on an explicit Reload().
            LoadAllAsync(_stop.Token).GetAwaiter().GetResult();
        }
        catch (AgentScopeException e)
        {
            if (first && !_source.Optional)
            {
                throw;
            }

            Report(e, reload: !first);
        }
        finally
        {
            if (first && _source.ReloadInterval is not null)
            {
                _reloadLoop = Task.Run(() => ReloadLoopAsync(_stop.Token));
            }
        }
    }

    private async Task LoadAllAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var result = await _client.BatchGetAsync(_source.Labels, ct).ConfigureAwait(false);
            ReportSkipped(result.Errors);
            var loaded = result.Values.Where(v => _source.Mapper.Load(v.Label)).ToDictionary(v => v.Label, StringComparer.Ordinal);
            Apply(loaded, fireReload: _reloadLoop is not null || Data.Count > 0);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One poll: list versions; fetch only labels that are new or changed; drop removed ones; fire only on change.</summary>
    internal async Task<bool> PollAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var listed = (await _client.ListAsync(ct).ConfigureAwait(false))
                .Where(l => l.Kind != "totp" && _source.Mapper.Load(l.Label) && (_source.Labels is null || _source.Labels.Contains(l.Label)))
                .ToDictionary(l => l.Label, StringComparer.Ordinal);
            var changed = listed.Values
                .Where(l => !_loaded.TryGetValue(l.Label, out var have) || have.Version != l.Version)
                .Select(l => l.Label)
                .ToList();
            var removed = _loaded.Keys.Where(k => !listed.ContainsKey(k)).ToList();
            if (changed.Count == 0 && removed.Count == 0)
            {
                return false;
            }

            var next = new Dictionary<string, VaultSecret>(_loaded, StringComparer.Ordinal);
            foreach (var label in removed)
            {
                next.Remove(label);
            }

            if (changed.Count > 0)
            {
                var result = await _client.BatchGetAsync(changed, ct).ConfigureAwait(false);
                ReportSkipped(result.Errors);
                foreach (var v in result.Values)
                {
                    next[v.Label] = v;
                }

                foreach (var label in result.Errors.Keys)
                {
                    next.Remove(label);
                }
            }

            Apply(next, fireReload: true);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReloadLoopAsync(CancellationToken ct)
    {
        var interval = _source.ReloadInterval!.Value;
        while (!ct.IsCancellationRequested)
        {
            var jitter = TimeSpan.FromTicks((long)(interval.Ticks * _source.ReloadJitter * Random.Shared.NextDouble()));
            try
            {
                await Task.Delay(interval + jitter, _source.TimeProvider, ct).ConfigureAwait(false);
                await PollAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (AgentScopeException e)
            {
                if (e.Kind == ErrorKind.AgentRevoked && _source.ClearOnRevocation && _loaded.Count > 0)
                {
                    Apply(new Dictionary<string, VaultSecret>(StringComparer.Ordinal), fireReload: true);
                }

                Report(e, reload: true);
            }
            catch (Exception e)
            {
                // Never let the loop die silently: anything unexpected is reported like a failed reload.
                Report(AgentScopeException.Unavailable($"reload failed unexpectedly ({e.GetType().Name})", e), reload: true);
            }
        }
    }

    private void Apply(Dictionary<string, VaultSecret> loaded, bool fireReload)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var secret in loaded.Values.OrderBy(v => v.Label, StringComparer.Ordinal))
        {
            var key = _source.Mapper.GetKey(secret.Label);
            var value = secret.Value.Reveal();
            if (_source.FlattenJson && value.TrimStart().StartsWith('{') && TryFlatten(key, value, data))
            {
                continue;
            }

            data[key] = value;
        }

        _loaded = loaded;
        Data = data;
        if (fireReload)
        {
            OnReload();
        }
    }

    private static bool TryFlatten(string prefix, string json, Dictionary<string, string?> data)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var flat = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            Flatten(ConfigurationPath.Combine(prefix), doc.RootElement, flat);
            foreach (var (k, v) in flat)
            {
                data[k] = v;
            }

            return true;
        }
        catch (JsonException)
        {
            return false; // not JSON after all: keep it as one value
        }
    }

    private static void Flatten(string prefix, JsonElement element, Dictionary<string, string?> data)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    Flatten(ConfigurationPath.Combine(prefix, p.Name), p.Value, data);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(ConfigurationPath.Combine(prefix, (i++).ToString(System.Globalization.CultureInfo.InvariantCulture)), item, data);
                }

                break;
            case JsonValueKind.String:
                data[prefix] = element.GetString();
                break;
            case JsonValueKind.Null:
                data[prefix] = null;
                break;
            default:
                data[prefix] = element.GetRawText();
                break;
        }
    }

    private void ReportSkipped(IReadOnlyDictionary<string, AgentScopeException> errors)
    {
        foreach (var (label, error) in errors)
        {
            _logger.LogWarning("AgentScope label {Label} skipped: {Code} ({Message})", label, error.Code, error.Message);
        }
    }

    private void Report(AgentScopeException e, bool reload)
    {
        var context = new AgentScopeLoadExceptionContext(e, reload);
        try
        {
            _source.OnLoadException?.Invoke(context);
        }
        catch (Exception callbackError)
        {
            _logger.LogError(callbackError, "the AgentScope OnLoadException callback threw");
        }

        if (!context.Ignore)
        {
            _logger.LogError("AgentScope configuration {Phase} failed: {Code} ({Message}); {Consequence}",
                reload ? "reload" : "load", e.Code, e.Message,
                e.Kind == ErrorKind.AgentRevoked && _source.ClearOnRevocation ? "values cleared" : "keeping the last good values");
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _reloadLoop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop reports its own failures; disposal only waits for it to end.
        }

        _stop.Dispose();
        _http.Dispose();
        _gate.Dispose();
    }
}
