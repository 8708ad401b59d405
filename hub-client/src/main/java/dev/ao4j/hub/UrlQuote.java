package dev.ao4j.hub;

import java.nio.charset.StandardCharsets;

/** Python's {@code urllib.parse.quote}: RFC 3986 unreserved characters kept, every other UTF-8 byte as %XX. */
final class UrlQuote {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private UrlQuote() {
    }

    /** With {@code keepSlash} (file names) {@code /} stays a separator; without it (revisions) it becomes %2F. */
    static String quote(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder(s.length());
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            boolean keep = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
                    || c == '_' || c == '.' || c == '-' || c == '~' || keepSlash && c == '/';
            if (keep) {
                sb.append((char) c);
            } else {
                sb.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
            }
        }
        return sb.toString();
    }
}
