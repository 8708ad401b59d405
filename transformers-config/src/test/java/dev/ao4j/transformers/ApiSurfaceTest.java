package dev.ao4j.transformers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API of the config/codec packages is a checked-in artifact ({@code api/transformers-config.api},
 * like OkHttp's {@code .api} files): any change to a public signature fails here until the listing is updated on
 * purpose. Regenerate with {@code -Dao4j.api.update=true}. Covers {@code dev.ao4j.transformers} (top level),
 * {@code .json} and {@code .torchao}; the package writer in {@code .pack} has its own owner.
 */
class ApiSurfaceTest {
    private static final Path API_FILE = Path.of("api/transformers-config.api");
    private static final List<String> PACKAGES = List.of("dev/ao4j/transformers", "dev/ao4j/transformers/json",
            "dev/ao4j/transformers/torchao");

    @Test
    void publicApiMatchesTheCheckedInListing() throws Exception {
        String actual = String.join("\n", listing()) + "\n";
        if (Boolean.getBoolean("ao4j.api.update")) {
            Files.createDirectories(API_FILE.getParent());
            Files.writeString(API_FILE, actual, StandardCharsets.UTF_8);
        }
        String expected = Files.exists(API_FILE) ? Files.readString(API_FILE, StandardCharsets.UTF_8) : "";
        assertEquals(expected, actual, "public API changed; review and rerun with -Dao4j.api.update=true");
    }

    private static List<String> listing() throws Exception {
        Path root = Path.of(ModelConfig.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> classNames = new ArrayList<>();
        for (String pkg : PACKAGES) {
            try (Stream<Path> s = Files.list(root.resolve(pkg))) {
                s.filter(p -> p.toString().endsWith(".class"))
                        .map(p -> root.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", ""))
                        .forEach(classNames::add);
            }
        }
        classNames.sort(null);
        List<String> out = new ArrayList<>();
        for (String name : classNames) {
            Class<?> c = Class.forName(name, false, ApiSurfaceTest.class.getClassLoader());
            if (!isExported(c)) continue;
            out.add(c.toGenericString() + header(c));
            List<String> members = new ArrayList<>();
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isPublic(f.getModifiers()) && !f.isSynthetic()) members.add(f.toGenericString());
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (Modifier.isPublic(k.getModifiers()) && !k.isSynthetic()) members.add(k.toGenericString());
            }
            for (Method m : c.getDeclaredMethods()) {
                if (Modifier.isPublic(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()) {
                    members.add(m.toGenericString());
                }
            }
            members.stream().map(s -> "  " + s.replace("java.lang.", "")).sorted().forEach(out::add);
        }
        return out;
    }

    private static boolean isExported(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isSynthetic()) return false;
        }
        return true;
    }

    private static String header(Class<?> c) {
        List<String> sup = new ArrayList<>();
        for (var t : c.getGenericInterfaces()) sup.add(t.getTypeName());
        return sup.isEmpty() ? "" : " implements " + String.join(", ", sup);
    }
}
