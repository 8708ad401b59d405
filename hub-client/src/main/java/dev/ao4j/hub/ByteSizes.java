package dev.ao4j.hub;

import java.util.Locale;

/** Byte counts for people, in decimal units as the Hub spells them ("999 B", "3.2 MB", "5.00 GB"). */
public final class ByteSizes {
    private static final String[] UNITS = {"kB", "MB", "GB", "TB"};

    private ByteSizes() {}

    /** Whole bytes below 1000, else the largest decimal unit up to TB with {@code fractionDigits} digits. */
    public static String human(long bytes, int fractionDigits) {
        if (bytes < 1000) return bytes + " B";
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < UNITS.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%." + fractionDigits + "f %s", v, UNITS[u]);
    }
}
