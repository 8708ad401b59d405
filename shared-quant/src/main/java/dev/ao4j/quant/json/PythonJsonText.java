package dev.ao4j.quant.json;

/**
 * The two text rules that make our JSON byte-identical to CPython's {@code json.dumps} defaults, which the formats
 * we write (safetensors index, torchao metadata, config.json) were produced with: {@code ensure_ascii=True} string
 * escaping, and {@code sort_keys=True} ordering by code point.
 */
public final class PythonJsonText {
    private PythonJsonText() {}

    /** Appends {@code s} as a JSON string the way CPython's ensure_ascii encoder writes it. */
    public static void appendQuoted(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    // Anything outside ' '..'~' (controls, DEL, non-ASCII) becomes a 4-hex-digit u-escape per UTF-16
                    // unit, lower-case.
                    if (c < 0x20 || c > 0x7E) {
                        String hex = Integer.toHexString(c);
                        sb.append("\\u").repeat('0', 4 - hex.length()).append(hex);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** Python's {@code str} ordering (by code point, not UTF-16 unit), which {@code sort_keys=True} uses. */
    public static int compareKeys(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
