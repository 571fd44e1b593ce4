using System.Globalization;
using System.Text.RegularExpressions;

namespace AgentScope.DotEnv;

/// <summary>
/// Decides whether a <c>.env</c> variable is a secret or plain configuration. The rules, tried in order, first match wins:
/// <list type="number">
/// <item>An empty value is configuration (nothing to protect).</item>
/// <item>A value in a known credential format is a secret, whatever the name: <c>sk-</c>, <c>sk_live_</c>/<c>rk_live_</c>
/// (and <c>_test_</c>), <c>whsec_</c>, <c>ghp_</c>/<c>gho_</c>/<c>ghs_</c>..., <c>github_pat_</c>, <c>glpat-</c>, <c>xoxb-</c>
/// and the other Slack tokens, <c>AKIA</c>/<c>ASIA</c> access key ids, Google <c>AIza</c>/<c>GOCSPX-</c>, <c>npm_</c>,
/// <c>hf_</c>, SendGrid, AgentScope keys, PEM private key blocks, URLs with <c>user:password@</c> or a credential in
/// the query, Slack/Discord webhook URLs, connection strings with <c>Password=</c>/<c>AccountKey=</c>, and
/// <c>Bearer</c>/<c>Basic</c> header values.</item>
/// <item>A value public by design is configuration: Stripe <c>pk_live_</c>/<c>pk_test_</c>, PEM certificates and public
/// keys, SSH public keys.</item>
/// <item>A name with the word <c>PUBLIC</c> or <c>PUBLISHABLE</c> is configuration (so <c>PUBLIC_KEY</c> and
/// <c>NEXT_PUBLIC_API_KEY</c> stay in the file).</item>
/// <item>A JSON Web Token is a secret (checked after the public-name rule: browser anon keys are JWTs by design).</item>
/// <item>A name with a secret word is a secret: KEY, SECRET, TOKEN, PASSWORD, PASSWD, PWD, PASS, PASSPHRASE, CREDENTIAL(S),
/// CREDS, AUTH, AUTHORIZATION, PRIVATE, DSN, PAT, SALT, PEPPER (and their plurals), matched as whole words of the name
/// (split at <c>_</c>, <c>-</c>, <c>.</c> and camelCase), or glued at the end of one (<c>DBPASSWORD</c>, <c>GITHUBTOKEN</c>,
/// <c>OPENAIAPIKEY</c>). So <c>KEYBOARD_LAYOUT</c> and <c>TOKENIZER_PATH</c> are not secrets. Exceptions, which are
/// configuration: the name ends in a word that describes a secret rather than holding it (<c>_ID</c>, <c>_NAME</c>,
/// <c>_PATH</c>, <c>_FILE</c>, <c>_URL</c>, <c>_TTL</c>, <c>_ENABLED</c>...), KEY qualified as a data key
/// (<c>PARTITION_KEY</c>, <c>SORT_KEY</c>, <c>CACHE_KEY</c>...), the shell's <c>PWD</c>/<c>OLDPWD</c>, or the value is a
/// boolean.</item>
/// <item>A value that looks random is a secret: one token of base64/hex characters, at least 20 long (32 for hex), Shannon
/// entropy of at least 3.5 bits per character (3.0 for hex), with frequent switches between letters, digits and case and few
/// vowels, so that identifiers such as <c>MyServiceProduction2024</c> are not taken for keys.</item>
/// <item>Anything else is configuration.</item>
/// </list>
/// Reasons name the rule and what matched (a name word, a format), never the value.
/// </summary>
public static partial class DotEnvClassifier
{
    private static readonly HashSet<string> SecretWords = new(StringComparer.Ordinal)
    {
        "KEY", "KEYS", "APIKEY", "APIKEYS", "SECRET", "SECRETS", "TOKEN", "TOKENS", "PASSWORD", "PASSWORDS", "PASSWD", "PWD",
        "PASS", "PASSPHRASE", "PASSCODE", "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHORIZATION", "PRIVATE", "DSN", "PAT",
        "SALT", "PEPPER",
    };

    // A word ending in one of these is a compound secret word: DBPASSWORD, CLIENTSECRET, GITHUBTOKEN, OPENAIAPIKEY.
    private static readonly string[] SecretSuffixes =
    [
        "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "TOKEN", "TOKENS", "APIKEY", "ACCESSKEY", "SECRETKEY", "PRIVATEKEY",
        "AUTHKEY", "CREDENTIAL", "CREDENTIALS",
    ];

    // A last word that describes a secret (where it is, what it is called, how long it lives) instead of holding it.
    private static readonly HashSet<string> DescriptorWords = new(StringComparer.Ordinal)
    {
        "ID", "IDS", "NAME", "NAMES", "PATH", "PATHS", "FILE", "FILES", "FILENAME", "DIR", "DIRECTORY", "FOLDER", "URL", "URLS", "URI",
        "HOST", "HOSTNAME", "PORT", "TYPE", "KIND", "SIZE", "BITS", "LENGTH", "LEN", "ALGORITHM", "ALGORITHMS", "ALG", "ALGO",
        "EXPIRY", "EXPIRES", "EXPIRATION", "EXPIRE", "TTL", "TIMEOUT", "LIFETIME", "DURATION", "AGE", "MAXAGE", "INTERVAL",
        "ENABLED", "ENABLE", "DISABLED", "DISABLE", "REQUIRED", "HEADER", "PREFIX", "SUFFIX", "FORMAT", "VERSION", "REGION",
        "ENDPOINT", "ISSUER", "AUDIENCE", "MODE", "METHOD", "PROVIDER", "DOMAIN", "SCOPE", "SCOPES", "FIELD", "PARAM", "COUNT",
        "MIN", "MAX", "LIMIT", "LEVEL", "POLICY", "STRATEGY", "CALLBACK", "REDIRECT", "USER", "USERNAME", "EMAIL", "ARN",
        "LOCATION", "VAULT", "ROTATION", "RETRIES", "ATTEMPTS", "DELAY", "FLAG", "COOKIE",
    };

    // KEY after one of these is a data key, not a credential.
    private static readonly HashSet<string> DataKeyQualifiers = new(StringComparer.Ordinal)
    {
        "PARTITION", "SORT", "PRIMARY", "FOREIGN", "ROUTING", "CACHE", "OBJECT", "IDEMPOTENCY", "LOOKUP", "HOT", "SHORTCUT",
        "SHARD", "GROUPING", "DEDUP", "DEDUPLICATION", "I18N", "TRANSLATION", "SEARCH", "SORTING", "MAP",
    };

    private static readonly char[] Digits = "0123456789".ToCharArray();

    private static readonly HashSet<string> PublicWords = new(StringComparer.Ordinal) { "PUBLIC", "PUBLISHABLE", "PUBKEY" };

    private static readonly HashSet<string> Booleans = new(StringComparer.OrdinalIgnoreCase) { "true", "false", "yes", "no", "on", "off" };

    private static readonly string[] CredentialQueryParameters =
    [
        "access_token", "token", "api_key", "apikey", "key", "sig", "signature", "password", "pass", "secret", "client_secret", "auth",
    ];

    private static readonly (Regex Pattern, string What)[] SecretFormats =
    [
        (OpenAiStyle(), "an sk- API key (OpenAI, Anthropic and others)"),
        (Stripe(), "a Stripe secret or restricted key (sk_/rk_ live or test)"),
        (StripeWebhook(), "a Stripe webhook signing secret (whsec_)"),
        (GitHub(), "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_)"),
        (GitHubPat(), "a GitHub fine-grained personal access token (github_pat_)"),
        (GitLab(), "a GitLab personal access token (glpat-)"),
        (Slack(), "a Slack token (xox?-, xapp-)"),
        (Aws(), "an AWS access key id (AKIA/ASIA)"),
        (GoogleApiKey(), "a Google API key (AIza)"),
        (GoogleOAuth(), "a Google OAuth client secret or access token (GOCSPX-, ya29.)"),
        (Npm(), "an npm access token (npm_)"),
        (HuggingFace(), "a Hugging Face token (hf_)"),
        (SendGrid(), "a SendGrid API key (SG.)"),
        (AgentScopeKey(), "an AgentScope API key (ask_/asa_)"),
        (PemPrivate(), "a PEM private key block"),
        (Webhook(), "a Slack or Discord webhook URL"),
        (ConnectionStringSecret(), "a connection string with a password or account key"),
        (AuthorizationHeader(), "an Authorization header value (Bearer/Basic/Token)"),
    ];

    private static readonly (Regex Pattern, string What)[] PublicFormats =
    [
        (StripePublishable(), "a Stripe publishable key (pk_), public by design"),
        (PemPublic(), "a PEM certificate or public key"),
        (SshPublic(), "an SSH public key"),
    ];

    /// <summary>Classifies an entry by its name and value.</summary>
    public static DotEnvClassification Classify(DotEnvEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Classify(entry.Key, entry.Value.Reveal());
    }

    /// <summary>Classifies a variable by its name and value. The reason never contains the value.</summary>
    public static DotEnvClassification Classify(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        var v = value.Trim();
        if (v.Length == 0)
        {
            return new(false, DotEnvSignal.EmptyValue, "empty value");
        }

        foreach (var (pattern, what) in SecretFormats)
        {
            if (pattern.IsMatch(v))
            {
                return new(true, DotEnvSignal.SecretFormat, $"value has the format of {what}");
            }
        }

        if (UrlPassword(v))
        {
            return new(true, DotEnvSignal.SecretFormat, "value is a URL with a password (user:password@)");
        }

        if (UrlCredentialParameter(v) is { } parameter)
        {
            return new(true, DotEnvSignal.SecretFormat, $"value is a URL carrying a credential in its query ({parameter}=)");
        }

        foreach (var (pattern, what) in PublicFormats)
        {
            if (pattern.IsMatch(v))
            {
                return new(false, DotEnvSignal.PublicFormat, $"value has the format of {what}");
            }
        }

        var words = Words(name);
        if (words.FirstOrDefault(PublicWords.Contains) is { } publicWord)
        {
            return new(false, DotEnvSignal.PublicName, $"name marks it public ({publicWord})");
        }

        // After the public-name rule: browser-exposed anon keys (NEXT_PUBLIC_SUPABASE_ANON_KEY) are JWTs by design.
        if (Jwt().IsMatch(v))
        {
            return new(true, DotEnvSignal.SecretFormat, "value has the format of a JSON Web Token");
        }

        if (SecretWordOf(name, words) is { } secretWord)
        {
            var last = words[^1];
            if (last != secretWord && DescriptorWords.Contains(last))
            {
                return new(false, DotEnvSignal.DescriptiveName, $"name has {secretWord} but ends in {last}: it describes a secret, not holds one");
            }

            return Booleans.Contains(v)
                ? new(false, DotEnvSignal.DescriptiveName, $"name has {secretWord}, but the value is a boolean flag")
                : new(true, DotEnvSignal.SecretName, $"name has {secretWord}");
        }

        if (LooksRandom(v) is { } bits)
        {
            return new(true, DotEnvSignal.Entropy, string.Create(CultureInfo.InvariantCulture, $"value looks random ({bits:0.0} bits of entropy per character)"));
        }

        return new(false, DotEnvSignal.None, "no secret word in the name; the value is no credential format and not random");
    }

    /// <summary>The words of a name, upper-cased: split at non-alphanumerics and camelCase (<c>openAIApiKey</c> → OPEN, AI, API, KEY).</summary>
    internal static List<string> Words(string name)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (!char.IsAsciiLetterOrDigit(c))
            {
                Flush();
                continue;
            }

            if (current.Length > 0 && char.IsAsciiLetterUpper(c))
            {
                var prev = name[i - 1];
                var next = i + 1 < name.Length ? name[i + 1] : '\0';
                if (char.IsAsciiLetterLower(prev) || char.IsAsciiDigit(prev) && char.IsAsciiLetterLower(next) ||
                    char.IsAsciiLetterUpper(prev) && char.IsAsciiLetterLower(next))
                {
                    Flush();
                }
            }

            current.Append(char.ToUpperInvariant(c));
        }

        Flush();
        return words;

        void Flush()
        {
            if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }
    }

    private static string? SecretWordOf(string name, List<string> words)
    {
        if (name is "PWD" or "OLDPWD")
        {
            return null; // the shell's working directories
        }

        for (var i = words.Count - 1; i >= 0; i--)
        {
            // API_KEY2 counts as KEY; AUTH0 (the company) does not count as AUTH.
            var w = words[i] == "AUTH0" ? words[i] : words[i].TrimEnd(Digits);
            if (SecretWords.Contains(w))
            {
                if (w is "KEY" or "KEYS" && i > 0 && DataKeyQualifiers.Contains(words[i - 1]))
                {
                    continue;
                }

                return w;
            }

            if (SecretSuffixes.FirstOrDefault(s => w.Length > s.Length && w.EndsWith(s, StringComparison.Ordinal)) is not null)
            {
                return w;
            }
        }

        return null;
    }

    private static bool UrlPassword(string v)
    {
        if (Authority(v) is not { } authority)
        {
            return false;
        }

        var at = authority.LastIndexOf('@');
        if (at < 0)
        {
            return false;
        }

        var colon = authority.IndexOf(':', 0, at);
        return colon >= 0 && colon < at - 1;
    }

    private static string? UrlCredentialParameter(string v)
    {
        if (Authority(v) is null)
        {
            return null;
        }

        var q = v.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return null;
        }

        var end = v.IndexOf('#', q);
        foreach (var pair in v[(q + 1)..(end < 0 ? v.Length : end)].Split('&'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && eq < pair.Length - 1)
            {
                var parameter = pair[..eq].ToLowerInvariant();
                if (CredentialQueryParameters.Contains(parameter))
                {
                    return parameter;
                }
            }
        }

        return null;
    }

    // scheme://authority/..., the authority up to the first '/', '?' or '#'; null when the value is not such a URL.
    private static string? Authority(string v)
    {
        var m = UrlStart().Match(v);
        if (!m.Success)
        {
            return null;
        }

        var rest = v[m.Length..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        return end < 0 ? rest : rest[..end];
    }

    /// <summary>Bits of entropy per character when the value looks like a random token; null otherwise.</summary>
    internal static double? LooksRandom(string v)
    {
        if (v.Length < 20 || !RandomAlphabet().IsMatch(v) || Uuid().IsMatch(v))
        {
            return null;
        }

        var alnum = v.Where(char.IsAsciiLetterOrDigit).ToArray();
        bool lower = alnum.Any(char.IsAsciiLetterLower), upper = alnum.Any(char.IsAsciiLetterUpper), digit = alnum.Any(char.IsAsciiDigit);
        if (!digit || alnum.Length < 2)
        {
            return null;
        }

        var bits = ShannonEntropy(v);
        var switches = 0;
        for (var i = 1; i < alnum.Length; i++)
        {
            switches += Class(alnum[i]) != Class(alnum[i - 1]) ? 1 : 0;
        }

        var switchRatio = (double)switches / (alnum.Length - 1);
        var letters = alnum.Where(char.IsAsciiLetter).ToArray();
        var vowelRatio = letters.Length == 0 ? 0 : (double)letters.Count(c => "aeiouAEIOU".Contains(c, StringComparison.Ordinal)) / letters.Length;
        var digitRatio = (double)alnum.Count(char.IsAsciiDigit) / alnum.Length;

        var isRandom = alnum.All(char.IsAsciiHexDigit) && !(lower && upper) && (lower || upper)
            ? alnum.Length >= 32 && bits >= 3.0 && switchRatio >= 0.2
            : lower && upper
                ? bits >= 3.5 && switchRatio >= 0.3 && vowelRatio < 0.3
                : (lower || upper) && alnum.Length >= 24 && bits >= 3.5 && switchRatio >= 0.2 && vowelRatio < 0.3 && digitRatio >= 0.15;
        return isRandom ? bits : null;

        static int Class(char c) => char.IsAsciiDigit(c) ? 0 : char.IsAsciiLetterLower(c) ? 1 : 2;
    }

    /// <summary>Shannon entropy of the characters of <paramref name="s"/>, in bits per character.</summary>
    internal static double ShannonEntropy(string s)
    {
        if (s.Length == 0)
        {
            return 0;
        }

        var counts = new Dictionary<char, int>();
        foreach (var c in s)
        {
            counts[c] = counts.GetValueOrDefault(c) + 1;
        }

        var h = 0.0;
        foreach (var n in counts.Values)
        {
            var p = (double)n / s.Length;
            h -= p * Math.Log2(p);
        }

        return h;
    }

    [GeneratedRegex(@"^sk-[A-Za-z0-9_-]{20,}$")]
    private static partial Regex OpenAiStyle();

    [GeneratedRegex(@"^(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}$")]
    private static partial Regex Stripe();

    [GeneratedRegex(@"^whsec_[A-Za-z0-9+/=]{16,}$")]
    private static partial Regex StripeWebhook();

    [GeneratedRegex(@"^pk_(?:live|test)_[A-Za-z0-9]{10,}$")]
    private static partial Regex StripePublishable();

    [GeneratedRegex(@"^gh[pousr]_[A-Za-z0-9]{30,}$")]
    private static partial Regex GitHub();

    [GeneratedRegex(@"^github_pat_[A-Za-z0-9_]{30,}$")]
    private static partial Regex GitHubPat();

    [GeneratedRegex(@"^glpat-[A-Za-z0-9_-]{20,}$")]
    private static partial Regex GitLab();

    [GeneratedRegex(@"^(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}$")]
    private static partial Regex Slack();

    [GeneratedRegex(@"^(?:AKIA|ASIA)[A-Z0-9]{16}$")]
    private static partial Regex Aws();

    [GeneratedRegex(@"^AIza[0-9A-Za-z_-]{35}$")]
    private static partial Regex GoogleApiKey();

    [GeneratedRegex(@"^(?:GOCSPX-[A-Za-z0-9_-]{20,}|ya29\.[0-9A-Za-z_-]{20,})$")]
    private static partial Regex GoogleOAuth();

    [GeneratedRegex(@"^npm_[A-Za-z0-9]{36}$")]
    private static partial Regex Npm();

    [GeneratedRegex(@"^hf_[A-Za-z0-9]{30,}$")]
    private static partial Regex HuggingFace();

    [GeneratedRegex(@"^SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}$")]
    private static partial Regex SendGrid();

    [GeneratedRegex(@"^(?:ask_[a-z0-9-]+_|asa_)[0-9a-f]{12}_[A-Za-z0-9_-]{20,}$")]
    private static partial Regex AgentScopeKey();

    [GeneratedRegex(@"^eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*$")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")]
    private static partial Regex PemPrivate();

    [GeneratedRegex(@"^-----BEGIN (?:CERTIFICATE|TRUSTED CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE REQUEST|X509 CRL|PGP PUBLIC KEY BLOCK)-----")]
    private static partial Regex PemPublic();

    [GeneratedRegex(@"^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) AAAA[A-Za-z0-9+/=]+(?: \S.*)?$")]
    private static partial Regex SshPublic();

    [GeneratedRegex(@"^https://(?:hooks\.slack\.com/(?:services|workflows|triggers)/|(?:canary\.|ptb\.)?discord(?:app)?\.com/api/webhooks/)\S+$")]
    private static partial Regex Webhook();

    [GeneratedRegex(@"(?:^|;)\s*(?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=\s*[^;\s]", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringSecret();

    [GeneratedRegex(@"^(?:bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}$", RegexOptions.IgnoreCase)]
    private static partial Regex AuthorizationHeader();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*://")]
    private static partial Regex UrlStart();

    [GeneratedRegex(@"^[A-Za-z0-9+/=_-]+$")]
    private static partial Regex RandomAlphabet();

    [GeneratedRegex(@"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    private static partial Regex Uuid();
}
