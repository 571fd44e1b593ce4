// A minimal agent: it holds nothing but AGENTSCOPE_API_KEY (and AGENTSCOPE_URL); its secrets arrive as configuration.
//
//   agentscope serve &                                  # prints the admin key on first start
//   KEY=$(agentscope agent create support-bot)
//   printf 'sk_live_demo\n' | AGENTSCOPE_API_KEY=$KEY agentscope secret put Stripe--ApiKey
//   AGENTSCOPE_URL=http://127.0.0.1:8787 AGENTSCOPE_API_KEY=$KEY dotnet run --project docs/samples/ConsoleAgent
//
// Rotate the secret (`secret put Stripe--ApiKey` again) and the running agent picks it up at the next reload.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddAgentScope(source =>
{
    source.ReloadInterval = TimeSpan.FromSeconds(10);
    source.Optional = false;
});
builder.Services.Configure<StripeOptions>(builder.Configuration.GetSection("Stripe"));
builder.Services.AddHostedService<Worker>();
await builder.Build().RunAsync();

public sealed class StripeOptions
{
    public string? ApiKey { get; set; }
}

internal sealed class Worker(IOptionsMonitor<StripeOptions> stripe, ILogger<Worker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = stripe.OnChange(o => logger.LogInformation("Stripe key rotated: now {Length} characters", o.ApiKey?.Length ?? 0));
        // Print only facts about the secret, never the secret.
        logger.LogInformation("Stripe key loaded: {Present}, {Length} characters", stripe.CurrentValue.ApiKey is not null, stripe.CurrentValue.ApiKey?.Length ?? 0);
        await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
    }
}
