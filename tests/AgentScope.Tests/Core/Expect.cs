namespace AgentScope.Tests;

/// <summary>Assertions on AgentScope's typed failures.</summary>
internal static class Expect
{
    /// <summary>Runs <paramref name="act"/>, which must fail with an <see cref="AgentScopeException"/> of <paramref name="kind"/>.</summary>
    public static async Task<AgentScopeException> FailsAsync(ErrorKind kind, Func<Task> act)
    {
        var e = await Assert.ThrowsAsync<AgentScopeException>(act);
        Assert.True(e.Kind == kind, $"expected {kind}, got {e.Kind}: {e.Message}");
        return e;
    }

    /// <summary>Runs <paramref name="act"/>, which must fail with an <see cref="AgentScopeException"/> of one of <paramref name="kinds"/>.</summary>
    public static async Task<AgentScopeException> FailsAsync(ErrorKind[] kinds, Func<Task> act)
    {
        var e = await Assert.ThrowsAsync<AgentScopeException>(act);
        Assert.True(kinds.Contains(e.Kind), $"expected one of {string.Join(", ", kinds)}, got {e.Kind}: {e.Message}");
        return e;
    }

    /// <summary>Collects every exception thrown through it, for later inspection.</summary>
    public sealed class Collector
    {
        private readonly List<Exception> _all = [];

        public IReadOnlyList<Exception> All => _all;

        public async Task<AgentScopeException> FailsAsync(ErrorKind kind, Func<Task> act)
        {
            try
            {
                await act();
            }
            catch (Exception e)
            {
                _all.Add(e);
                var typed = Assert.IsType<AgentScopeException>(e, exactMatch: false);
                Assert.True(typed.Kind == kind, $"expected {kind}, got {typed.Kind}: {typed.Message}");
                return typed;
            }

            Assert.Fail($"expected {kind}, but nothing was thrown");
            return null!;
        }
    }
}
