using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentScope.Server.Http;

/// <summary>
/// Reads a JSON request body strictly and within the size limit. Any content type is accepted, because the curl snippets
/// people copy (<c>curl -d '{...}'</c>) send JSON as form data. Every failure is an <see cref="AgentScopeException"/>
/// whose message names the problem and where it is, never the offending text.
/// </summary>
internal static partial class RequestBody
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 32 };

    /// <summary>The body as <typeparamref name="T"/>; an empty body is refused.</summary>
    public static async ValueTask<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type) where T : class =>
        await ReadOptionalAsync(context, type).ConfigureAwait(false)
        ?? throw AgentScopeException.InvalidInput("a JSON object is required as the request body");

    /// <summary>The body as <typeparamref name="T"/>, or null when the body is empty.</summary>
    public static async ValueTask<T?> ReadOptionalAsync<T>(HttpContext context, JsonTypeInfo<T> type) where T : class
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<AgentScopeServerOptions>>().Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        var reader = context.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw TooLarge(limit);
            }

            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                throw TooLarge(limit);
            }

            if (result.IsCompleted)
            {
                try
                {
                    return Parse(buffer, type);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static T? Parse<T>(ReadOnlySequence<byte> buffer, JsonTypeInfo<T> type) where T : class
    {
        if (IsBlank(buffer))
        {
            return null;
        }

        var json = new Utf8JsonReader(buffer, ReaderOptions);
        try
        {
            var value = JsonSerializer.Deserialize(ref json, type)
                ?? throw AgentScopeException.InvalidInput("the request body must be a JSON object, not null");
            if (json.Read())
            {
                throw AgentScopeException.InvalidInput("the request body holds more than one JSON value");
            }

            return value;
        }
        catch (JsonException e)
        {
            throw AgentScopeException.InvalidInput(Explain(e));
        }
    }

    private static bool IsBlank(ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    // System.Text.Json's messages may quote the input; only its path, position and our own field names are reused.
    private static string Explain(JsonException e)
    {
        var at = e.Path is { Length: > 1 } path ? " at " + Names.Describe(path) : "";
        var message = e.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            // The path ends with the unknown name, which is not echoed (a confused client may have put a value there).
            var parent = e.Path is { } p ? p[..Math.Max(1, p.LastIndexOfAny(['.', '[']))] : "$";
            return "unknown field in " + Names.Describe(parent);
        }

        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            var fields = QuotedName().Matches(message[message.IndexOf("including", StringComparison.Ordinal)..]).Select(m => m.Groups[1].Value);
            return "missing required field: " + string.Join(", ", fields);
        }

        if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return "duplicate field" + at;
        }

        if (message.Contains("null", StringComparison.OrdinalIgnoreCase) && e.Path is { Length: > 1 })
        {
            return "null is not allowed" + at;
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return at.Length == 0 ? "the request body must be a JSON object" : "wrong type" + at;
        }

        var position = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
        return "malformed JSON" + position + at;
    }

    private static AgentScopeException TooLarge(long limit) =>
        new(ErrorKind.ValueTooLarge, $"the request body is larger than {limit} bytes");

    [GeneratedRegex("'([A-Za-z]{1,40})'")]
    private static partial Regex QuotedName();
}
