using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AgentScope.Testing.Emulators.AzureKeyVault;

/// <summary>
/// A self-signed server certificate for 127.0.0.1 made in the test (no openssl, nothing on disk), and a client handler
/// that trusts exactly it as a root, host name check included. The Key Vault SDK sends bearer tokens over HTTPS only.
/// </summary>
public static class TestCertificate
{
    /// <summary>
    /// A Key Vault host name the certificate also covers, for a client that must use a real-looking vault URI (the SDK
    /// checks that the vault's host ends with the challenge's resource domain, <c>.vault.azure.net</c>) and reaches the
    /// emulator through <see cref="LoopbackConnectProxy"/>. Nothing resolves it: only the proxy sees it.
    /// </summary>
    public const string VaultHostName = "agentscope-emulator.vault.azure.net";

    private static readonly Lazy<X509Certificate2> Shared = new(Create);

    public static X509Certificate2 Server => Shared.Value;

    /// <summary>The certificate alone as PEM, e.g. for <c>SSL_CERT_FILE</c> of a child process that should trust exactly it.</summary>
    public static string ServerPem => Server.ExportCertificatePem();

    public static SocketsHttpHandler CreateTrustingHandler() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 64,
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false; // missing certificate or host name mismatch
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(Server);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return chain.Build(presented);
            },
        },
    };

    private static X509Certificate2 Create()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        san.AddDnsName(VaultHostName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }
}
