package dev.ao4j.cli;

import dev.ao4j.hub.ByteSizes;
import dev.ao4j.quant.InvalidConfigException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as transformers spells them ("5GB" = 5·10^9, "500MiB" = 500·2^20). */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]?I?B)?", Pattern.CASE_INSENSITIVE);

    private Sizes() {}

    static long parse(String text, String option) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new InvalidConfigException(option + " must look like 5GB, 500MB or 2GiB but was '" + text + "'");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        double mult = switch (unit) {
            case "B" -> 1;
            case "KB" -> 1e3;
            case "MB" -> 1e6;
            case "GB" -> 1e9;
            case "TB" -> 1e12;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            default -> throw new InvalidConfigException(option + ": unknown unit '" + m.group(2) + "'");
        };
        long bytes = (long) (v * mult);
        if (bytes <= 0) throw new InvalidConfigException(option + " must be positive but was '" + text + "'");
        return bytes;
    }

    /** E.g. "3.15 MB": the Hub client's formatter with two decimals. */
    static String human(long bytes) {
        return ByteSizes.human(bytes, 2);
    }
}
