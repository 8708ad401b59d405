package dev.ao4j.transformers.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.TestResources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** PyJson against CPython's json module output (vectors from tools/make_pyjson_vectors.py, seed 20260901). */
class PyJsonTest {

    @Test
    void floatsMatchPythonRepr() {
        JsonNode table = PyJson.parse(TestResources.text("pyjson/floats.json"), Where.NOWHERE);
        List<String> failures = new ArrayList<>();
        for (JsonNode row : table.values()) {
            long bits = HexFormat.fromHexDigitsToLong(row.get(0).stringValue());
            String expected = row.get(1).stringValue();
            String actual = PyJson.formatFloat(Double.longBitsToDouble(bits));
            if (!expected.equals(actual)) failures.add(row.get(0).stringValue() + ": python " + expected + ", ours " + actual);
        }
        assertEquals(List.of(), failures, "of " + table.size() + " doubles");
    }

    static Stream<Arguments> specialFloats() {
        return Stream.of(Arguments.of(Double.NaN, "NaN"), Arguments.of(Double.POSITIVE_INFINITY, "Infinity"),
                Arguments.of(Double.NEGATIVE_INFINITY, "-Infinity"), Arguments.of(-0.0, "-0.0"),
                Arguments.of(0.0, "0.0"), Arguments.of(Double.MIN_VALUE, "5e-324"), Arguments.of(1e-6, "1e-06"),
                Arguments.of(10000.0, "10000.0"), Arguments.of(1e16, "1e+16"), Arguments.of(1e-4, "0.0001"));
    }

    @ParameterizedTest
    @MethodSource("specialFloats")
    void specialFloats(double d, String expected) {
        assertEquals(expected, PyJson.formatFloat(d));
    }

    @Test
    void compactMatchesJsonDumps() {
        JsonNode doc = PyJson.parse(TestResources.text("pyjson/sample.json"), Where.NOWHERE);
        assertEquals(TestResources.text("pyjson/sample.compact"), PyJson.dumps(doc));
    }

    @Test
    void indentedSortedMatchesJsonDumps() {
        JsonNode doc = PyJson.parse(TestResources.text("pyjson/sample.json"), Where.NOWHERE);
        assertEquals(TestResources.text("pyjson/sample.pretty"), PyJson.dumps(doc, 2, true) + "\n");
    }

    @Test
    void floatNodesPrintTheirShortestDecimal() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("f", 1e-12f);
        o.put("g", 0.1f);
        assertEquals("{\"f\": 1e-12, \"g\": 0.1}", PyJson.dumps(o));
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"a\": {\"b\": [1, 2,, 3]}}", "{\"a\": {\"b\": tru}}", "{\"a\": 1} x"})
    void syntaxErrorsNameThePath(String text) {
        var e = assertThrows(MalformedInputException.class, () -> PyJson.parse(text, Where.file(Path.of("c.json"))));
        assertEquals(Path.of("c.json"), e.where().file());
        if (!text.endsWith("x")) assertEquals(text.contains("[") ? "a.b[2]" : "a.b", e.where().jsonPath(),
                e.getMessage());
    }

    @Test
    void emptyAndNonUtf8FilesAreMalformed(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.json"), "  ");
        var e1 = assertThrows(MalformedInputException.class, () -> PyJson.read(empty));
        assertEquals(empty, e1.where().file());
        Path latin1 = Files.write(dir.resolve("latin1.json"), new byte[] {'{', '"', (byte) 0xE9, '"', ':', '1', '}'});
        var e2 = assertThrows(MalformedInputException.class, () -> PyJson.read(latin1));
        assertEquals(latin1 + ": JSON file is not valid UTF-8: Input length = 1", e2.getMessage());
    }
}
