package dev.ao4j.transformers.json;

import dev.ao4j.quant.json.PythonJsonText;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.TokenStreamContext;
import tools.jackson.core.json.JsonReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * JSON text exactly as CPython's {@code json} module writes it, plus a reader with errors that name the file
 * and JSON path.
 *
 * <p>Why not Jackson's writer: the bytes matter. torchao's safetensors metadata values are
 * {@code json.dumps(obj)} (separators {@code ", "} and {@code ": "}), and transformers writes {@code config.json}
 * as {@code json.dumps(obj, indent=2, sort_keys=True) + "\n"}. Both use {@code ensure_ascii=True} and Python's
 * {@code repr} for floats ({@code 1e-06}, {@code 10000.0}), which Jackson does not reproduce.
 *
 * <p>Number nodes: integral nodes print their exact value; double nodes print Python's {@code repr} of the
 * double; float nodes print the shortest decimal of the float (as Python would print the same decimal typed in);
 * decimal nodes print their digits in Python's float layout. NaN and infinities print as Python does
 * ({@code NaN}, {@code Infinity}, {@code -Infinity}).
 */
public final class PyJson {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            // Python's json.loads accepts NaN / Infinity / -Infinity, so config.json files may hold them.
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private PyJson() {}

    /** {@code json.dumps(node)}: one line, separators {@code ", "} and {@code ": "}, keys in node order. */
    public static String dumps(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        write(sb, node, -1, false, 0);
        return sb.toString();
    }

    /**
     * {@code json.dumps(node, indent=indent, sort_keys=sortKeys)}: separators {@code ","} and {@code ": "}, one
     * item per line; empty containers print as {@code []} / {@code {}}. No trailing newline.
     */
    public static String dumps(JsonNode node, int indent, boolean sortKeys) {
        if (indent < 0) throw new IllegalArgumentException("indent must be >= 0 but was " + indent);
        StringBuilder sb = new StringBuilder();
        write(sb, node, indent, sortKeys, 0);
        return sb.toString();
    }

    /** Parse JSON text; a syntax error becomes a {@link MalformedInputException} naming {@code where} and the path. */
    public static JsonNode parse(String text, Where where) {
        try (JsonParser p = MAPPER.createParser(text)) {
            return readRoot(p, where);
        }
    }

    /** Read and parse a UTF-8 JSON file; I/O, encoding and syntax errors name the file (and path). */
    public static JsonNode read(Path file) {
        Where where = Where.file(file);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new MalformedInputException("cannot read JSON file: " + e, where, e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedInputException("JSON file is not valid UTF-8: " + e.getMessage(), where, e);
        }
        return parse(text, where);
    }

    private static JsonNode readRoot(JsonParser p, Where where) {
        try {
            JsonNode node = MAPPER.readTree(p);
            if (node == null || node.isMissingNode()) {
                throw new MalformedInputException("empty JSON document", where);
            }
            return node;
        } catch (JacksonException e) {
            String path = pathOf(p.streamReadContext());
            var loc = e.getLocation();
            String at = loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
            throw new MalformedInputException("invalid JSON" + at + ": " + e.getOriginalMessage(),
                    path.isEmpty() ? where : where.withJsonPath(path), e);
        }
    }

    /** The dotted path ({@code a.b[2].c}) of the parser's current position. */
    private static String pathOf(TokenStreamContext ctx) {
        List<String> parts = new ArrayList<>();
        for (TokenStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inObject() && c.currentName() != null) parts.addFirst("." + c.currentName());
            else if (c.inArray()) parts.addFirst("[" + Math.max(0, c.getCurrentIndex()) + "]");
        }
        String s = String.join("", parts);
        return s.startsWith(".") ? s.substring(1) : s;
    }

    private static void write(StringBuilder sb, JsonNode n, int indent, boolean sortKeys, int depth) {
        switch (n.getNodeType()) {
            case NULL, MISSING -> sb.append("null");
            case BOOLEAN -> sb.append(n.booleanValue() ? "true" : "false");
            case STRING -> PythonJsonText.appendQuoted(sb, n.stringValue());
            case NUMBER -> writeNumber(sb, n);
            case ARRAY -> {
                if (n.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                boolean first = true;
                for (JsonNode item : n.values()) {
                    if (!first) sb.append(indent < 0 ? ", " : ",");
                    first = false;
                    newline(sb, indent, depth + 1);
                    write(sb, item, indent, sortKeys, depth + 1);
                }
                newline(sb, indent, depth);
                sb.append(']');
            }
            case OBJECT -> {
                if (n.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Map.Entry<String, JsonNode>> entries = new ArrayList<>(n.properties());
                // Python sorts str keys by code point; String.compareTo compares UTF-16 units, which differs
                // only for supplementary characters, so compare code points explicitly.
                if (sortKeys) entries.sort((a, b) -> PythonJsonText.compareKeys(a.getKey(), b.getKey()));
                sb.append('{');
                boolean first = true;
                for (Map.Entry<String, JsonNode> e : entries) {
                    if (!first) sb.append(indent < 0 ? ", " : ",");
                    first = false;
                    newline(sb, indent, depth + 1);
                    PythonJsonText.appendQuoted(sb, e.getKey());
                    sb.append(": ");
                    write(sb, e.getValue(), indent, sortKeys, depth + 1);
                }
                newline(sb, indent, depth);
                sb.append('}');
            }
            default -> throw new IllegalArgumentException("cannot write JSON node of type " + n.getNodeType()
                    + " (binary and POJO nodes have no JSON text form)");
        }
    }

    private static void newline(StringBuilder sb, int indent, int depth) {
        if (indent < 0) return;
        sb.append('\n');
        sb.repeat(' ', indent * depth);
    }



    private static void writeNumber(StringBuilder sb, JsonNode n) {
        if (n.isIntegralNumber()) {
            sb.append(n.bigIntegerValue());
        } else if (n.isFloat()) {
            float f = n.floatValue();
            sb.append(Float.isFinite(f) ? pythonLayout(new BigDecimal(Float.toString(f)))
                    : formatFloat(f));
        } else if (n.isBigDecimal()) {
            sb.append(pythonLayout(n.decimalValue()));
        } else {
            sb.append(formatFloat(n.doubleValue()));
        }
    }

    /**
     * Python's {@code repr(float)} as the {@code json} module prints it: the shortest decimal that reads back
     * to {@code d}; positional notation for decimal exponents -4 &le; e &lt; 16 (always with a fraction, e.g.
     * {@code 10000.0}), scientific otherwise with a signed two-digit-minimum exponent ({@code 1e-06},
     * {@code 1e+16}). NaN / infinities as {@code NaN}, {@code Infinity}, {@code -Infinity}.
     */
    public static String formatFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (Double.doubleToRawLongBits(d) < 0) ? "-0.0" : "0.0";
        return pythonLayout(shortest(d));
    }

    /**
     * The shortest round-tripping decimal of {@code d}. {@link Double#toString} (JDK 19+) is shortest except that
     * when a one-digit decimal would do it may pick a closer two-digit one (e.g. {@code 4.9E-324} where Python
     * prints {@code 5e-324}); retry one digit in that case.
     */
    private static BigDecimal shortest(double d) {
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        if (bd.precision() == 2) {
            BigDecimal exact = new BigDecimal(d);
            BigDecimal best = null;
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.FLOOR, RoundingMode.CEILING}) {
                BigDecimal one = bd.round(new MathContext(1, mode));
                if (one.doubleValue() == d && (best == null
                        || one.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = one;
                }
            }
            if (best != null) return best.stripTrailingZeros();
        }
        return bd;
    }

    /** Lay out a nonzero decimal the way CPython's float repr does ({@code format_float_short}, mode 'r'). */
    private static String pythonLayout(BigDecimal value) {
        if (value.signum() == 0) return "0.0";
        BigDecimal v = value.stripTrailingZeros();
        String digits = v.unscaledValue().abs().toString();
        // value = 0.DIGITS * 10^decpt
        int decpt = digits.length() - v.scale();
        StringBuilder sb = new StringBuilder();
        if (v.signum() < 0) sb.append('-');
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) sb.append('.').append(digits, 1, digits.length());
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exp));
            if (e.length() < 2) sb.append('0');
            sb.append(e);
        } else if (decpt <= 0) {
            sb.append("0.").repeat('0', -decpt).append(digits);
        } else if (decpt >= digits.length()) {
            sb.append(digits).repeat('0', decpt - digits.length()).append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return sb.toString();
    }
}
