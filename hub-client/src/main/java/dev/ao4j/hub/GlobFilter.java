package dev.ao4j.hub;

import java.util.List;
import java.util.regex.Pattern;

/**
 * huggingface_hub's {@code filter_repo_objects}: a path is kept when it matches one of the allow patterns (or there
 * are none) and none of the ignore patterns. Patterns are Python {@code fnmatch} globs over the whole path, so
 * {@code *} also crosses {@code /}; a pattern ending in {@code /} gets {@code *} appended (a whole folder).
 */
public record GlobFilter(List<String> allow, List<String> ignore) {
    public static final GlobFilter ALL = new GlobFilter(List.of(), List.of());

    public GlobFilter {
        allow = List.copyOf(allow);
        ignore = List.copyOf(ignore);
    }

    public boolean test(String path) {
        if (!allow.isEmpty() && allow.stream().noneMatch(p -> matches(p, path))) return false;
        return ignore.stream().noneMatch(p -> matches(p, path));
    }

    static boolean matches(String glob, String path) {
        return toRegex(glob.endsWith("/") ? glob + "*" : glob).matcher(path).matches();
    }

    /** fnmatch.translate: {@code *} any run, {@code ?} one character, {@code [...]} / {@code [!...]} a class. */
    static Pattern toRegex(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                case '[' -> {
                    int j = i + 1;
                    if (j < glob.length() && glob.charAt(j) == '!') j++;
                    if (j < glob.length() && glob.charAt(j) == ']') j++;
                    while (j < glob.length() && glob.charAt(j) != ']') j++;
                    if (j >= glob.length()) {
                        re.append("\\[");
                    } else {
                        String body = glob.substring(i + 1, j).replace("\\", "\\\\");
                        if (body.startsWith("!")) body = "^" + body.substring(1);
                        else if (body.startsWith("^")) body = "\\" + body;
                        re.append('[').append(body).append(']');
                        i = j;
                    }
                }
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
