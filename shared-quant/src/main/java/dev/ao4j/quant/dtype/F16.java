package dev.ao4j.quant.dtype;

/** IEEE binary16. The JDK's conversions round to nearest even, as torch does. */
public final class F16 {
    private F16() {}

    public static float toFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short fromFloat(float f) {
        return Float.floatToFloat16(f);
    }

    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
