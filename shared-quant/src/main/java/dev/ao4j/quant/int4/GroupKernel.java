package dev.ao4j.quant.int4;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;

/**
 * The int4 group-quantize hot loop over one row: {@code len / groupSize} groups starting at {@code x[xOff]}.
 * For group {@code j} it writes {@code scale[qOff + j]}, {@code zero[qOff + j]} (values of the algorithm's
 * dtype, held in floats) and the unsigned codes 0..15 of its elements to {@code codes[cOff + i]}.
 */
sealed interface GroupKernel permits ReferenceGroupKernel, VectorGroupKernel {

    /** The implementation of {@code kernel}: the scalar definition, or its Vector API twin at the preferred width. */
    static GroupKernel of(Kernel kernel) {
        return switch (kernel) {
            case REFERENCE -> ReferenceGroupKernel.INSTANCE;
            case VECTOR -> VectorGroupKernel.PREFERRED;
        };
    }

    /** tinygemm qparams and codes (range 0..15) computed in {@code dtype}; {@code eps} is already in {@code dtype}. */
    void tinygemm(float[] x, int xOff, int len, int groupSize, DType dtype, DivMode mode, float eps,
                  float[] scale, float[] zero, int qOff, byte[] codes, int cOff);

    /** MSLK {@code int4_row_quantize_zp} qparams (f32) and unsigned codes (signed code = unsigned - 8). */
    void mslk(float[] x, int xOff, int len, int groupSize, DivMode mode,
              float[] scale, float[] zero, int qOff, byte[] codes, int cOff);
}
