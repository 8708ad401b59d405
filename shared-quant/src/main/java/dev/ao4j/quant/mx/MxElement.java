package dev.ao4j.quant.mx;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Float8E5M2;
import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.dtype.Fp6E2M3;
import dev.ao4j.quant.dtype.Fp6E3M2;

/**
 * The element formats of torchao's MX tensors (torchao-numerics §7.1) with what the scale computation needs:
 * the element's mantissa width, {@code target_max_pow2} (the exponent of its largest power of two) and its largest
 * value. fp8 codes are stored as torch float8 bytes, fp6 one code per byte (low 6 bits, not bit-packed), fp4 two
 * codes per byte (element 2i in the low nibble) in a uint8 tensor of half the last dim.
 */
public enum MxElement {
    FP8_E4M3("mxfp8_e4m3", DType.F8_E4M3, 3, 8, Float8E4M3Fn.MAX),
    FP8_E5M2("mxfp8_e5m2", DType.F8_E5M2, 2, 15, Float8E5M2.MAX),
    FP6_E2M3("mxfp6_e2m3", DType.U8, 3, 2, Fp6E2M3.MAX),
    FP6_E3M2("mxfp6_e3m2", DType.U8, 2, 4, Fp6E3M2.MAX),
    FP4_E2M1("mxfp4_e2m1", DType.U8, 1, 2, Fp4E2M1.MAX);

    private final String id;
    final DType qdataDtype;
    final int mbits;
    final int targetMaxPow2;
    final float max;

    MxElement(String id, DType qdataDtype, int mbits, int targetMaxPow2, float max) {
        this.id = id;
        this.qdataDtype = qdataDtype;
        this.mbits = mbits;
        this.targetMaxPow2 = targetMaxPow2;
        this.max = max;
    }

    /** The golden-vector id, e.g. {@code "mxfp8_e4m3"}. */
    public String id() {
        return id;
    }

    /** The dtype of the qdata tensor: F8_E4M3 / F8_E5M2 for fp8, U8 for fp6 and (packed) fp4. */
    public DType qdataDtype() {
        return qdataDtype;
    }

    /** The largest element magnitude (448, 57344, 7.5, 28, 6). */
    public float max() {
        return max;
    }

    public boolean isFp8() {
        return this == FP8_E4M3 || this == FP8_E5M2;
    }

    public boolean isPacked() {
        return this == FP4_E2M1;
    }

    public static MxElement fromId(String id) {
        for (MxElement e : values()) {
            if (e.id.equals(id)) return e;
        }
        throw new UnsupportedFormatException("unknown MX element format '" + id + "'; supported: mxfp8_e4m3, "
                + "mxfp8_e5m2, mxfp6_e2m3, mxfp6_e3m2, mxfp4_e2m1");
    }

    /**
     * The code of the already-scaled f32 value {@code y} (given as bits so a NaN's payload reaches the fp6/fp4
     * encoders, whose integer arithmetic turns it into a deterministic code). fp8: torch's RNE cast (NaN keeps its
     * sign); fp6/fp4: torchao's saturating RNE encoder.
     */
    int encode(int yBits) {
        float y = Float.intBitsToFloat(yBits);
        return switch (this) {
            case FP8_E4M3 -> Float8E4M3Fn.fromFloat(y) & 0xFF;
            case FP8_E5M2 -> Float8E5M2.fromFloat(y) & 0xFF;
            case FP6_E2M3 -> Fp6E2M3.fromFloat(y);
            case FP6_E3M2 -> Fp6E3M2.fromFloat(y);
            case FP4_E2M1 -> Fp4E2M1.fromFloat(y);
        };
    }

    /** The f32 bits of {@code code} (fp8 NaN codes give torch's NaN pattern; fp6/fp4 have no NaN). */
    int decodeBits(int code) {
        return switch (this) {
            case FP8_E4M3 -> Float8E4M3Fn.toFloatBits((byte) code);
            case FP8_E5M2 -> Float8E5M2.toFloatBits((byte) code);
            case FP6_E2M3 -> Float.floatToRawIntBits(Fp6E2M3.toFloat(code));
            case FP6_E3M2 -> Float.floatToRawIntBits(Fp6E3M2.toFloat(code));
            case FP4_E2M1 -> Float.floatToRawIntBits(Fp4E2M1.toFloat(code));
        };
    }
}
