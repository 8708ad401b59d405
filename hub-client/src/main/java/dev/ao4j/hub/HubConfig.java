package dev.ao4j.hub;

import dev.ao4j.quant.InvalidConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hub settings resolved from the environment with huggingface_hub's names and precedence, so that the Java client
 * shares Python's cache folder and stored token.
 *
 * @param endpoint        base URL of the Hub, without trailing slash ({@code HF_ENDPOINT})
 * @param token           access token or null ({@code HF_TOKEN} > {@code HUGGING_FACE_HUB_TOKEN} > token file)
 * @param hfHome          root of all Hugging Face state ({@code HF_HOME})
 * @param hubCache        the shared model cache ({@code HF_HUB_CACHE} > {@code HUGGINGFACE_HUB_CACHE} > {@code HF_HOME/hub})
 * @param offline         no request may leave the process ({@code HF_HUB_OFFLINE} or {@code TRANSFORMERS_OFFLINE})
 * @param etagTimeout     timeout of the metadata HEAD ({@code HF_HUB_ETAG_TIMEOUT}, seconds)
 * @param downloadTimeout longest wait for the next byte of a download ({@code HF_HUB_DOWNLOAD_TIMEOUT}, seconds)
 * @param disableSymlinks never symlink in the cache, copy or move files into {@code snapshots/} instead
 *                        ({@code HF_HUB_DISABLE_SYMLINKS})
 */
public record HubConfig(String endpoint, String token, Path hfHome, Path hubCache, boolean offline,
                        Duration etagTimeout, Duration downloadTimeout, boolean disableSymlinks) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");
    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$(\\{([A-Za-z_][A-Za-z0-9_]*)}|([A-Za-z_][A-Za-z0-9_]*))");

    public HubConfig {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(hfHome, "hfHome");
        Objects.requireNonNull(hubCache, "hubCache");
        Objects.requireNonNull(etagTimeout, "etagTimeout");
        Objects.requireNonNull(downloadTimeout, "downloadTimeout");
        endpoint = stripTrailingSlashes(endpoint);
        if (!endpoint.startsWith("http://") && !endpoint.startsWith("https://")) {
            throw new InvalidConfigException("HF_ENDPOINT must be an http(s) URL but was '" + endpoint + "'");
        }
        if (token != null && token.isBlank()) token = null;
        if (etagTimeout.isNegative() || etagTimeout.isZero() || downloadTimeout.isNegative() || downloadTimeout.isZero()) {
            throw new InvalidConfigException("timeouts must be positive but were etag=" + etagTimeout
                    + " download=" + downloadTimeout);
        }
    }

    /** Symlinks allowed (the default on file systems that support them). */
    public HubConfig(String endpoint, String token, Path hfHome, Path hubCache, boolean offline,
                     Duration etagTimeout, Duration downloadTimeout) {
        this(endpoint, token, hfHome, hubCache, offline, etagTimeout, downloadTimeout, false);
    }

    /** The configuration of this process's environment. */
    public static HubConfig fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /**
     * Resolves the configuration from {@code env} exactly as huggingface_hub's constants module does; the token file
     * is read from disk. {@code HOME} in {@code env} (else {@code user.home}) stands for {@code ~}.
     */
    public static HubConfig fromEnvironment(Map<String, String> env) {
        String home = nonEmpty(env.get("HOME")) != null ? env.get("HOME") : System.getProperty("user.home");
        String xdgCache = nonEmpty(env.get("XDG_CACHE_HOME"));
        Path defaultHome = xdgCache != null
                ? Path.of(expand(xdgCache, env, home), "huggingface")
                : Path.of(home, ".cache", "huggingface");
        Path hfHome = nonEmpty(env.get("HF_HOME")) != null ? Path.of(expand(env.get("HF_HOME"), env, home)) : defaultHome;

        String cacheVar = firstNonEmpty(env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE"));
        Path hubCache = cacheVar != null ? Path.of(expand(cacheVar, env, home)) : hfHome.resolve("hub");

        String endpoint = nonEmpty(env.get("HF_ENDPOINT")) != null ? env.get("HF_ENDPOINT") : DEFAULT_ENDPOINT;

        String token = firstNonEmpty(strip(env.get("HF_TOKEN")), strip(env.get("HUGGING_FACE_HUB_TOKEN")));
        if (token == null) {
            String tokenPath = nonEmpty(env.get("HF_TOKEN_PATH"));
            token = readTokenFile(tokenPath != null ? Path.of(expand(tokenPath, env, home)) : hfHome.resolve("token"));
        }

        boolean offline = isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE"));
        return new HubConfig(endpoint, token, hfHome, hubCache, offline,
                seconds(env, "HF_HUB_ETAG_TIMEOUT"), seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT"),
                isTrue(env.get("HF_HUB_DISABLE_SYMLINKS")));
    }

    public HubConfig withEndpoint(String newEndpoint) {
        return new HubConfig(newEndpoint, token, hfHome, hubCache, offline, etagTimeout, downloadTimeout, disableSymlinks);
    }

    public HubConfig withToken(String newToken) {
        return new HubConfig(endpoint, newToken, hfHome, hubCache, offline, etagTimeout, downloadTimeout, disableSymlinks);
    }

    public HubConfig withHubCache(Path newHubCache) {
        return new HubConfig(endpoint, token, hfHome, newHubCache, offline, etagTimeout, downloadTimeout, disableSymlinks);
    }

    public HubConfig withOffline(boolean newOffline) {
        return new HubConfig(endpoint, token, hfHome, hubCache, newOffline, etagTimeout, downloadTimeout, disableSymlinks);
    }

    public HubConfig withDisableSymlinks(boolean disable) {
        return new HubConfig(endpoint, token, hfHome, hubCache, offline, etagTimeout, downloadTimeout, disable);
    }

    /** Never prints the token, only whether there is one. */
    @Override
    public String toString() {
        return "HubConfig[endpoint=" + endpoint + ", token=" + (token == null ? "<none>" : "<redacted>")
                + ", hfHome=" + hfHome + ", hubCache=" + hubCache + ", offline=" + offline
                + ", etagTimeout=" + etagTimeout + ", downloadTimeout=" + downloadTimeout
                + ", disableSymlinks=" + disableSymlinks + "]";
    }

    /** huggingface_hub's boolean rule: 1/ON/YES/TRUE in any case is true, anything else (unset included) false. */
    static boolean isTrue(String value) {
        return value != null && TRUE_VALUES.contains(value.trim().toUpperCase(Locale.ROOT));
    }

    private static Duration seconds(Map<String, String> env, String name) {
        String value = nonEmpty(env.get(name));
        if (value == null) return DEFAULT_TIMEOUT;
        try {
            long s = Long.parseLong(value.trim());
            if (s <= 0) throw new NumberFormatException();
            return Duration.ofSeconds(s);
        } catch (NumberFormatException e) {
            throw new InvalidConfigException(name + " must be a positive whole number of seconds but was '" + value + "'");
        }
    }

    private static String readTokenFile(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            // Python strips every CR and LF, then surrounding whitespace
            String raw = Files.readString(file, StandardCharsets.UTF_8).replace("\r", "").replace("\n", "").strip();
            return raw.isEmpty() ? null : raw;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Hugging Face token file " + file, e);
        }
    }

    /** Expands a leading {@code ~} and {@code $VAR} / {@code ${VAR}} like Python's expanduser(expandvars(...)). */
    static String expand(String value, Map<String, String> env, String home) {
        Matcher m = ENV_REFERENCE.matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String name = m.group(2) != null ? m.group(2) : m.group(3);
            String replacement = env.get(name);
            // expandvars leaves unknown variables untouched
            m.appendReplacement(sb, Matcher.quoteReplacement(replacement != null ? replacement : m.group()));
        }
        m.appendTail(sb);
        String s = sb.toString();
        if (s.equals("~")) return home;
        if (s.startsWith("~/")) return home + s.substring(1);
        return s;
    }

    private static String stripTrailingSlashes(String s) {
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == '/') end--;
        return s.substring(0, end);
    }

    private static String strip(String s) {
        return s == null ? null : nonEmpty(s.strip());
    }

    private static String nonEmpty(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static String firstNonEmpty(String a, String b) {
        return nonEmpty(a) != null ? a : nonEmpty(b);
    }
}
