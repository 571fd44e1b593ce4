using AgentScope.Benchmarks;
using BenchmarkDotNet.Running;

if (args is ["--revoke-throughput", .. var rest])
{
    return await RevokeThroughput.RunAsync(rest);
}

if (args is ["--provider-overhead", .. var options])
{
    return await ProviderGetOverheadBenchmarks.RunInterleavedAsync(options);
}

BenchmarkSwitcher.FromAssembly(typeof(BenchHost).Assembly).Run(args);
return 0;
