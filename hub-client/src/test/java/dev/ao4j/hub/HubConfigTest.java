package dev.ao4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HubConfigTest {
    @TempDir
    Path home;

    @Test
    void defaultsFollowHomeAndXdg() {
        HubConfig c = HubConfig.fromEnvironment(Map.of("HOME", home.toString()));
        assertEquals("https://huggingface.co", c.endpoint());
        assertEquals(home.resolve(".cache/huggingface"), c.hfHome());
        assertEquals(home.resolve(".cache/huggingface/hub"), c.hubCache());
        assertNull(c.token());
        assertFalse(c.offline());
        assertEquals(Duration.ofSeconds(10), c.etagTimeout());
        assertEquals(Duration.ofSeconds(10), c.downloadTimeout());

        HubConfig xdg = HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "XDG_CACHE_HOME", "~/xdg"));
        assertEquals(home.resolve("xdg/huggingface/hub"), xdg.hubCache());
    }

    @Test
    void hubCachePrecedenceAndExpansion() {
        Map<String, String> env = new HashMap<>(Map.of("HOME", home.toString(), "HF_HOME", "$HOME/hf",
                "HUGGINGFACE_HUB_CACHE", "/legacy", "HF_ENDPOINT", "http://mirror.local:8080/hf//"));
        HubConfig legacy = HubConfig.fromEnvironment(env);
        assertEquals(home.resolve("hf"), legacy.hfHome());
        assertEquals(Path.of("/legacy"), legacy.hubCache());
        assertEquals("http://mirror.local:8080/hf", legacy.endpoint());

        env.put("HF_HUB_CACHE", "${HOME}/cache");
        assertEquals(home.resolve("cache"), HubConfig.fromEnvironment(env).hubCache());
    }

    @Test
    void tokenPrecedenceEnvThenLegacyEnvThenFile() throws IOException {
        Path hfHome = Files.createDirectories(home.resolve("hf"));
        Files.writeString(hfHome.resolve("token"), "  hf_from_file\r\n");
        Map<String, String> env = new HashMap<>(Map.of("HOME", home.toString(), "HF_HOME", hfHome.toString()));
        assertEquals("hf_from_file", HubConfig.fromEnvironment(env).token());

        env.put("HUGGING_FACE_HUB_TOKEN", "hf_legacy");
        assertEquals("hf_legacy", HubConfig.fromEnvironment(env).token());
        env.put("HF_TOKEN", "hf_env");
        assertEquals("hf_env", HubConfig.fromEnvironment(env).token());

        Files.writeString(home.resolve("other-token"), "hf_other");
        Map<String, String> pathEnv = Map.of("HOME", home.toString(), "HF_HOME", hfHome.toString(),
                "HF_TOKEN_PATH", "~/other-token");
        assertEquals("hf_other", HubConfig.fromEnvironment(pathEnv).token());

        Files.writeString(hfHome.resolve("token"), "\n");
        assertNull(HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_HOME", hfHome.toString())).token());
    }

    @Test
    void offlineUsesPythonsBooleanRule() {
        for (String yes : new String[] {"1", "on", "YES", "True"}) {
            assertTrue(HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_HUB_OFFLINE", yes)).offline(), yes);
        }
        for (String no : new String[] {"0", "false", "y", ""}) {
            assertFalse(HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_HUB_OFFLINE", no)).offline(), no);
        }
        assertTrue(HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "TRANSFORMERS_OFFLINE", "1")).offline());
    }

    @Test
    void timeoutsAreWholeSeconds() {
        HubConfig c = HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_HUB_ETAG_TIMEOUT", "3",
                "HF_HUB_DOWNLOAD_TIMEOUT", "42"));
        assertEquals(Duration.ofSeconds(3), c.etagTimeout());
        assertEquals(Duration.ofSeconds(42), c.downloadTimeout());
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_HUB_DOWNLOAD_TIMEOUT", "soon")));
        assertTrue(e.getMessage().contains("HF_HUB_DOWNLOAD_TIMEOUT") && e.getMessage().contains("soon"), e.getMessage());
        assertThrows(InvalidConfigException.class,
                () -> HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_ENDPOINT", "ftp://x")));
    }

    @Test
    void toStringNeverShowsTheToken() {
        HubConfig c = HubConfig.fromEnvironment(Map.of("HOME", home.toString(), "HF_TOKEN", "hf_very_secret"));
        assertFalse(c.toString().contains("hf_very_secret"), c.toString());
        assertTrue(c.toString().contains("token=<redacted>"), c.toString());
        assertTrue(c.withToken(null).toString().contains("token=<none>"));
    }
}
