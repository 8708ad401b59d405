package dev.ao4j.quant.dtype;

/** bfloat16: the upper 16 bits of an IEEE f32. Conversions round to nearest even, as torch does. */
public final class Bf16 {
    private Bf16() {}

    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round an f32 to bf16 (RNE); NaN stays NaN with its sign (quiet bit set, like torch). */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** {@code f} rounded to the nearest bf16 value, returned as an f32. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
