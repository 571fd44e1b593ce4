using System.Text;
using System.Text.Json;
using AgentScope.DotEnv;

namespace AgentScope.Tests.DotEnv;

/// <summary>
/// Differential tests: <see cref="DotEnvParser"/> against the reference implementation's own output. Every
/// <c>Corpus/*.expected.json</c> and <c>Corpus/generated.json</c> was written by the <c>dotenv</c> npm package's
/// <c>parse()</c> (see <c>generate-expected.js</c>), so these tests need neither Node nor the package.
/// </summary>
public sealed class DotEnvReferenceTests
{
    private static readonly string CorpusDir = Path.Combine(AppContext.BaseDirectory, "DotEnv", "Corpus");

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(CorpusDir, "*.env").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Each_corpus_file_parses_exactly_as_the_dotenv_package_parses_it(string file)
    {
        // Decoded without stripping a BOM, as Node's Buffer.toString() does.
        var text = new UTF8Encoding(false).GetString(File.ReadAllBytes(Path.Combine(CorpusDir, file)));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(CorpusDir, Path.ChangeExtension(file, ".expected.json"))));
        AssertSame(expected.RootElement.GetProperty("entries"), DotEnvParser.Parse(text), file);
    }

    [Fact]
    public void Generated_inputs_parse_exactly_as_the_dotenv_package_parses_them()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(CorpusDir, "generated.json")));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 400);
        foreach (var c in cases)
        {
            var input = c.GetProperty("input").GetString()!;
            AssertSame(c.GetProperty("entries"), DotEnvParser.Parse(input), JsonSerializer.Serialize(input));
        }
    }

    [Fact]
    public void The_corpus_covers_every_file_with_an_expected_output()
    {
        var inputs = Directory.GetFiles(CorpusDir, "*.env").Select(f => Path.GetFileNameWithoutExtension(f)!).Order().ToList();
        var outputs = Directory.GetFiles(CorpusDir, "*.expected.json").Select(f => Path.GetFileName(f)[..^".expected.json".Length]).Order().ToList();
        Assert.Equal(inputs, outputs);
        Assert.True(inputs.Count >= 9);
    }

    private static void AssertSame(JsonElement expected, IReadOnlyList<DotEnvEntry> actual, string where)
    {
        var want = expected.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        var got = actual.ToDictionary(e => e.Key, e => e.Value.Reveal(), StringComparer.Ordinal);
        Assert.True(want.Keys.Order(StringComparer.Ordinal).SequenceEqual(got.Keys.Order(StringComparer.Ordinal)),
            $"{where}: names differ: expected [{string.Join(", ", want.Keys)}], got [{string.Join(", ", got.Keys)}]");
        foreach (var (key, value) in want)
        {
            Assert.True(value == got[key], $"{where}: {key}: expected {JsonSerializer.Serialize(value)}, got {JsonSerializer.Serialize(got[key])}");
        }
    }
}
