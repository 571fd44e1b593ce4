using AgentScope.DotEnv;

namespace AgentScope.Tests.DotEnv;

public sealed class DotEnvClassifierTests
{
    // Realistic-looking but fake values in each known format.
    [Theory]
    [InlineData("LLM", "sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678Stu901", "sk- API key")]
    [InlineData("LLM", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "sk- API key")]
    [InlineData("PAYMENTS", "sk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDeFgHiJkLm", "Stripe secret")]
    [InlineData("PAYMENTS", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "Stripe secret")]
    [InlineData("PAYMENTS", "rk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDe", "Stripe secret or restricted")]
    [InlineData("HOOK", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "webhook signing")]
    [InlineData("GH", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "GitHub token")]
    [InlineData("GH", "ghs_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "GitHub token")]
    [InlineData("GH", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN", "fine-grained")]
    [InlineData("GL", "glpat-AbCdEfGhIjKlMnOpQrSt", "GitLab")]
    [InlineData("BOT", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "Slack token")]
    [InlineData("BOT", "xoxp-123456789012-1234567890123-AbCdEfGhIjKl", "Slack token")]
    [InlineData("ID", "AKIAIOSFODNN7EXAMPLE", "AWS access key id")]
    [InlineData("ID", "ASIAIOSFODNN7EXAMPLE", "AWS access key id")]
    [InlineData("MAPS", "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "Google API key")]
    [InlineData("G", "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWxYz01", "Google OAuth")]
    [InlineData("REGISTRY", "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "npm")]
    [InlineData("HF", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "Hugging Face")]
    [InlineData("MAIL", "SG.AbCdEfGhIjKlMnOpQr.StUvWxYz0123456789AbCdEfGh", "SendGrid")]
    [InlineData("AS", "ask_support-bot_0123456789ab_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "AgentScope")]
    [InlineData("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JSON Web Token")]
    [InlineData("CERTIFICATE", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----", "PEM private key")]
    [InlineData("CERT", "-----BEGIN PRIVATE KEY-----\\nMIIBVQIBADANBgkqhkiG9w0B\\n-----END PRIVATE KEY-----", "PEM private key")]
    [InlineData("SSH", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----", "PEM private key")]
    [InlineData("PGP", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----", "PEM private key")]
    [InlineData("DATABASE_URL", "postgres://app:s3cr3t-p4ss@db.internal:5432/app", "user:password@")]
    [InlineData("REDIS_URL", "redis://:hunter2hunter2@cache:6379/0", "user:password@")]
    [InlineData("MONGO", "mongodb+srv://admin:pw@cluster0.example.net/db?retryWrites=true", "user:password@")]
    [InlineData("BLOB", "https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig=AbCdEf0123%2BxYz%3D", "(sig=)")]
    [InlineData("FEED", "https://api.example.com/v1/feed?format=json&api_key=0123456789abcdef", "(api_key=)")]
    [InlineData("ALERTS", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "webhook URL")]
    [InlineData("ALERTS", "https://discord.com/api/webhooks/123456789/AbCdEfGh", "webhook URL")]
    [InlineData("ConnectionStrings__Default", "Server=db;Database=app;User Id=app;Password=Pa55w0rd!;", "connection string")]
    [InlineData("STORAGE", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AbCd0123==;EndpointSuffix=core.windows.net", "connection string")]
    [InlineData("HEADER", "Bearer AbCdEfGh0123456789", "Authorization header")]
    [InlineData("HEADER", "Basic dXNlcjpwYXNzd29yZA==", "Authorization header")]
    public void A_value_in_a_known_credential_format_is_a_secret_whatever_the_name(string name, string value, string reasonPart)
    {
        var c = DotEnvClassifier.Classify(name, value);
        Assert.True(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.SecretFormat, c.Signal);
        Assert.Contains(reasonPart, c.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(value, c.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("STRIPE_API_KEY", "KEY")]
    [InlineData("API_KEY", "KEY")]
    [InlineData("apiKey", "KEY")]
    [InlineData("openAIApiKey", "KEY")]
    [InlineData("OPENAIAPIKEY", "OPENAIAPIKEY")]
    [InlineData("APIKEY", "APIKEY")]
    [InlineData("API_KEY_2", "KEY")]
    [InlineData("STRIPE_KEY2", "KEY")]
    [InlineData("JWT_SECRET", "SECRET")]
    [InlineData("CLIENTSECRET", "CLIENTSECRET")]
    [InlineData("SECRET_KEY_BASE", "KEY")]
    [InlineData("GITHUB_TOKEN", "TOKEN")]
    [InlineData("GITHUBTOKEN", "GITHUBTOKEN")]
    [InlineData("REFRESH_TOKENS", "TOKENS")]
    [InlineData("DB_PASSWORD", "PASSWORD")]
    [InlineData("DBPASSWORD", "DBPASSWORD")]
    [InlineData("MYSQL_PASSWD", "PASSWD")]
    [InlineData("DB_PWD", "PWD")]
    [InlineData("SMTP_PASS", "PASS")]
    [InlineData("GPG_PASSPHRASE", "PASSPHRASE")]
    [InlineData("GOOGLE_APPLICATION_CREDENTIALS_JSON", "CREDENTIALS")]
    [InlineData("SERVICE_CREDENTIAL", "CREDENTIAL")]
    [InlineData("REGISTRY_CREDS", "CREDS")]
    [InlineData("PROXY_AUTH", "AUTH")]
    [InlineData("AUTHORIZATION", "AUTHORIZATION")]
    [InlineData("GITHUB_APP_PRIVATE", "PRIVATE")]
    [InlineData("SENTRY_DSN", "DSN")]
    [InlineData("GITHUB_PAT", "PAT")]
    [InlineData("HASH_SALT", "SALT")]
    [InlineData("password", "PASSWORD")]
    [InlineData("db.password", "PASSWORD")]
    [InlineData("smtp-password", "PASSWORD")]
    public void A_name_with_a_secret_word_is_a_secret(string name, string word)
    {
        var c = DotEnvClassifier.Classify(name, "changeme");
        Assert.True(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.SecretName, c.Signal);
        Assert.Equal($"name has {word}", c.Reason);
    }

    [Theory]
    [InlineData("KEYBOARD_LAYOUT", "us")]
    [InlineData("MONKEY_COUNT", "12")]
    [InlineData("TOKENIZER_PATH", "/models/tokenizer.json")]
    [InlineData("PASSWORDLESS_LOGIN", "magic-link")]
    [InlineData("BYPASS_CACHE", "1")]
    [InlineData("COMPASS_URL", "https://compass.example.com")]
    [InlineData("AUTH0_TENANT", "acme")]
    [InlineData("AUTHOR_NAME", "Ada")]
    [InlineData("PORT", "3000")]
    [InlineData("NODE_ENV", "production")]
    [InlineData("APP_URL", "https://app.example.com/path")]
    [InlineData("REDIS_URL", "redis://localhost:6379/0")]
    [InlineData("LOG_LEVEL", "info")]
    [InlineData("FEATURE_FLAGS", "a,b,c")]
    [InlineData("AZURE_KEYVAULT_URL", "https://vault.vault.azure.net")]
    [InlineData("TENANT", "550e8400-e29b-41d4-a716-446655440000")]
    [InlineData("SERVICE", "UserServiceProduction2024Config")]
    [InlineData("COMPANY", "MyCompanyNameAndProject2")]
    [InlineData("RELEASE", "release-2024-06-01-build-1234")]
    [InlineData("BUNDLE", "com.example.app.production")]
    [InlineData("DESCRIPTION", "A long sentence with spaces that is surely not a token at all 2024")]
    [InlineData("ADMIN_EMAIL", "ops@example.com")]
    [InlineData("STARTED", "2024-06-01T12:00:00Z")]
    public void Ordinary_configuration_is_not_a_secret(string name, string value)
    {
        var c = DotEnvClassifier.Classify(name, value);
        Assert.False(c.IsSecret, c.Reason);
    }

    [Theory]
    [InlineData("PUBLIC_KEY", "PUBLIC")]
    [InlineData("JWT_PUBLIC_KEY", "PUBLIC")]
    [InlineData("NEXT_PUBLIC_API_KEY", "PUBLIC")]
    [InlineData("STRIPE_PUBLISHABLE_KEY", "PUBLISHABLE")]
    [InlineData("SIGNING_PUBKEY", "PUBKEY")]
    [InlineData("publicKey", "PUBLIC")]
    public void A_name_marked_public_is_configuration_even_with_a_random_looking_value(string name, string word)
    {
        var c = DotEnvClassifier.Classify(name, "AbCdEfGh0123456789IjKlMnOp4567");
        Assert.False(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.PublicName, c.Signal);
        Assert.Equal($"name marks it public ({word})", c.Reason);
    }

    [Fact]
    public void A_public_name_does_not_hide_a_real_secret_key_format()
    {
        var c = DotEnvClassifier.Classify("NEXT_PUBLIC_STRIPE_KEY", "sk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDeFgHiJkLm");
        Assert.True(c.IsSecret);
        Assert.Equal(DotEnvSignal.SecretFormat, c.Signal);
    }

    [Fact]
    public void A_jwt_under_a_public_name_is_a_public_anon_key()
    {
        var c = DotEnvClassifier.Classify("NEXT_PUBLIC_SUPABASE_ANON_KEY", "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U");
        Assert.False(c.IsSecret);
        Assert.Equal(DotEnvSignal.PublicName, c.Signal);
    }

    [Theory]
    [InlineData("STRIPE_PK", "pk_live_51HqLyjWDarjtT1zdp7dcXfT2aBcDeFgHiJkLm", "publishable")]
    [InlineData("TLS_CERT", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n-----END CERTIFICATE-----", "certificate")]
    [InlineData("SIGNING_KEY", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----", "public key")]
    [InlineData("DEPLOY_KEY", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@ci", "SSH public key")]
    public void A_value_public_by_design_is_configuration_even_under_a_secret_name(string name, string value, string reasonPart)
    {
        var c = DotEnvClassifier.Classify(name, value);
        Assert.False(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.PublicFormat, c.Signal);
        Assert.Contains(reasonPart, c.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("API_KEY_ID", "ID")]
    [InlineData("KMS_KEY_ARN", "ARN")]
    [InlineData("KEY_VAULT_NAME", "NAME")]
    [InlineData("SSH_KEY_PATH", "PATH")]
    [InlineData("JWT_SECRET_FILE", "FILE")]
    [InlineData("AUTH_URL", "URL")]
    [InlineData("TOKEN_TTL", "TTL")]
    [InlineData("ACCESS_TOKEN_EXPIRY", "EXPIRY")]
    [InlineData("PASSWORD_MIN_LENGTH", "LENGTH")]
    [InlineData("AUTH_ENABLED", "ENABLED")]
    [InlineData("API_KEY_HEADER", "HEADER")]
    [InlineData("AUTH_PROVIDER", "PROVIDER")]
    [InlineData("BASIC_AUTH_USER", "USER")]
    public void A_name_describing_a_secret_rather_than_holding_it_is_configuration(string name, string last)
    {
        var c = DotEnvClassifier.Classify(name, "some-value");
        Assert.False(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.DescriptiveName, c.Signal);
        Assert.EndsWith($"ends in {last}: it describes a secret, not holds one", c.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PARTITION_KEY")]
    [InlineData("SORT_KEY")]
    [InlineData("CACHE_KEY")]
    [InlineData("IDEMPOTENCY_KEY")]
    [InlineData("ROUTING_KEY")]
    [InlineData("PWD")]
    [InlineData("OLDPWD")]
    public void Data_keys_and_the_shells_working_directory_are_not_secret_words(string name)
    {
        var c = DotEnvClassifier.Classify(name, "user-id");
        Assert.False(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.None, c.Signal);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("FALSE")]
    [InlineData("yes")]
    [InlineData("off")]
    public void A_secret_word_with_a_boolean_value_is_a_flag(string value)
    {
        var c = DotEnvClassifier.Classify("USE_PRIVATE", value);
        Assert.False(c.IsSecret);
        Assert.Equal(DotEnvSignal.DescriptiveName, c.Signal);
        Assert.Equal("name has PRIVATE, but the value is a boolean flag", c.Reason);
    }

    [Theory]
    [InlineData("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]
    [InlineData("k8s9d7f6g5h4j3k2l1z0x9c8v7b6n5m4")]
    [InlineData("d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")]
    [InlineData("Xq3v9LmP2rT8wZk4Yb7N")]
    [InlineData("q7Rk2_Vx9-Lm4Tz8Wb3Nc6Hd1Jf5Gs0P")]
    public void A_random_looking_value_is_a_secret_by_entropy(string value)
    {
        var c = DotEnvClassifier.Classify("UPSTREAM", value);
        Assert.True(c.IsSecret, c.Reason);
        Assert.Equal(DotEnvSignal.Entropy, c.Signal);
        Assert.Matches(@"^value looks random \(\d\.\d bits of entropy per character\)$", c.Reason);
    }

    [Theory]
    [InlineData("0123456789abcdef")]                     // hex, but too short
    [InlineData("AbCdEfGh0123")]                         // too short
    [InlineData("abcdefghijklmnopqrstuvwxyz")]           // no digits
    [InlineData("00000000000000000000000000000000000")]  // no variety
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1")] // low entropy
    [InlineData("https://example.com/AbCdEfGh0123456789IjKl")] // a URL, not a token
    [InlineData("Xq3v9LmP 2rT8wZk4Yb7N abc")]            // whitespace
    public void Values_that_are_not_random_tokens_are_not_secrets_by_entropy(string value)
    {
        var c = DotEnvClassifier.Classify("UPSTREAM", value);
        Assert.False(c.IsSecret, c.Reason);
    }

    [Fact]
    public void Random_tokens_of_the_usual_alphabets_are_mostly_caught_by_entropy()
    {
        var rng = new Random(42);
        foreach (var (alphabet, length) in new[] { ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32), ("0123456789abcdef", 40), ("abcdefghijklmnopqrstuvwxyz0123456789", 32) })
        {
            var caught = Enumerable.Range(0, 500).Count(_ =>
                DotEnvClassifier.Classify("X", new string(Enumerable.Range(0, length).Select(_ => alphabet[rng.Next(alphabet.Length)]).ToArray())).IsSecret);
            Assert.True(caught >= 400, $"{alphabet.Length}-symbol alphabet: {caught}/500");
        }
    }

    [Fact]
    public void An_empty_value_is_configuration_even_under_a_secret_name()
    {
        var c = DotEnvClassifier.Classify("STRIPE_API_KEY", "   ");
        Assert.Equal(new DotEnvClassification(false, DotEnvSignal.EmptyValue, "empty value"), c);
    }

    [Fact]
    public void Plain_configuration_says_why()
    {
        var c = DotEnvClassifier.Classify("PORT", "3000");
        Assert.Equal(DotEnvSignal.None, c.Signal);
        Assert.Equal("no secret word in the name; the value is no credential format and not random", c.Reason);
    }

    [Fact]
    public void Classify_an_entry_uses_its_name_and_value()
    {
        var entry = DotEnvParser.Parse("GITHUB_TOKEN=\"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\"").Single();
        Assert.Equal(DotEnvSignal.SecretFormat, DotEnvClassifier.Classify(entry).Signal);
    }

    [Theory]
    [InlineData("openAIApiKey", new[] { "OPEN", "AI", "API", "KEY" })]
    [InlineData("STRIPE_API_KEY", new[] { "STRIPE", "API", "KEY" })]
    [InlineData("ConnectionStrings__Default", new[] { "CONNECTION", "STRINGS", "DEFAULT" })]
    [InlineData("Auth0Domain", new[] { "AUTH0", "DOMAIN" })]
    [InlineData("S3Key", new[] { "S3", "KEY" })]
    [InlineData("db.password-hash", new[] { "DB", "PASSWORD", "HASH" })]
    public void Names_split_into_words_at_separators_and_camel_case(string name, string[] words) =>
        Assert.Equal(words, DotEnvClassifier.Words(name));

    [Fact]
    public void Shannon_entropy_is_computed_per_character()
    {
        Assert.Equal(0, DotEnvClassifier.ShannonEntropy("aaaa"));
        Assert.Equal(1, DotEnvClassifier.ShannonEntropy("abab"), 10);
        Assert.Equal(4, DotEnvClassifier.ShannonEntropy("0123456789abcdef"), 10);
        Assert.Equal(0, DotEnvClassifier.ShannonEntropy(""));
    }

    [Fact]
    public void No_reason_ever_contains_the_value()
    {
        foreach (var entry in DotEnvParser.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "DotEnv", "Corpus", "realistic.env"))))
        {
            var value = entry.Value.Reveal();
            var reason = DotEnvClassifier.Classify(entry).Reason;
            if (value.Length >= 4)
            {
                Assert.DoesNotContain(value, reason, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void The_realistic_corpus_file_is_classified_as_a_person_would()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "DotEnv", "Corpus", "realistic.env"));
        var secrets = DotEnvParser.Parse(text).Where(e => DotEnvClassifier.Classify(e).IsSecret).Select(e => e.Key).ToList();
        Assert.Equal(
        [
            "STRIPE_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "SLACK_BOT_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "DATABASE_URL", "SENTRY_DSN", "SESSION_SECRET", "ConnectionStrings__Default",
        ], secrets);
    }
}
