using System.Text;
using AgentScope.Backends;

namespace AgentScope.Providers.HashiCorpVault.Tests;

internal static class TestEntries
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static BackendEntry Entry(string ns, string label, string value, long version = 1, SecretKind kind = SecretKind.Generic, bool encrypted = false) =>
        new(new EntryMetadata(new EntryKey(ns, label), kind, version, T0, T0.AddSeconds(version), null, encrypted), Encoding.UTF8.GetBytes(value));

    public static BackendEntry Registry(string label, string json, long version) => Entry(EntryKey.RegistryNamespace, label, json, version, SecretKind.Registry);

    public static string Text(BackendEntry? entry) => Encoding.UTF8.GetString(Assert.IsType<BackendEntry>(entry).Value);

    public static async Task<List<T>> ToList<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
