using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(AgentScope.Benchmarks.BenchHost).Assembly).Run(args);
