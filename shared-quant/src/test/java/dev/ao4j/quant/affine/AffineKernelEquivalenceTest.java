package dev.ao4j.quant.affine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Kernel#VECTOR} is bit-identical to {@link Kernel#REFERENCE}: scales, zero points and quantized bytes, over
 * random and edge-case bf16 inputs (zeros, outliers, NaN/Inf, subnormals, rounding ties, huge values), widths K
 * that are and are not multiples of the vector length, groups that straddle vector lanes, every mapping, several
 * ranges, bf16 / f32 / f16 scales and both division modes.
 */
class AffineKernelEquivalenceTest {
    private static final int[] WIDTHS = {1, 3, 8, 15, 16, 17, 24, 31, 32, 33, 48, 64, 96, 100, 130, 257, 512};
    private static final int[] GROUPS = {5, 12, 24, 32, 48, 50, 64, 128};
    private static final QuantRange[] RANGES = {QuantRange.int8(), QuantRange.int8ReduceRange(),
            QuantRange.signedBits(4), QuantRange.signedBits(2), QuantRange.signedBits(1), QuantRange.uint8(),
            QuantRange.unsignedBits(4)};

    /** How the test values of one tensor are drawn. */
    enum Values {
        NORMAL, OUTLIERS, NAN_INF, ZEROS, SUBNORMAL, TIES, HUGE, NEGATIVE;

        float draw(Random r, int i) {
            return Bf16.round(switch (this) {
                case NORMAL -> (float) r.nextGaussian() * 0.05f;
                case OUTLIERS -> r.nextInt(13) == 0 ? (r.nextBoolean() ? 1000f : -3f) * (1 + r.nextInt(4))
                        : (float) r.nextGaussian() * 0.01f;
                case NAN_INF -> switch (r.nextInt(12)) {
                    case 0 -> Float.NaN;
                    case 1 -> Float.POSITIVE_INFINITY;
                    case 2 -> Float.NEGATIVE_INFINITY;
                    case 3 -> Bf16.toFloat((short) 0xFF81); // a negative NaN with another payload
                    default -> (float) r.nextGaussian();
                };
                case ZEROS -> r.nextBoolean() ? 0f : -0f;
                case SUBNORMAL -> Bf16.toFloat((short) ((r.nextBoolean() ? 0x8000 : 0) | (1 + r.nextInt(0x7F))));
                case TIES -> (r.nextInt(601) - 300) / 2f; // halves: products land on .5 ties
                case HUGE -> (r.nextBoolean() ? 1 : -1) * (i % 3 == 0 ? 3.3e38f : (float) r.nextGaussian() * 1e30f);
                case NEGATIVE -> -Math.abs((float) r.nextGaussian()) - 0.001f;
            });
        }
    }

    static Stream<Arguments> valueKinds() {
        return Stream.of(Values.values()).flatMap(v -> Stream.of(Arguments.of(v, 11L), Arguments.of(v, 20260901L)));
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("valueKinds")
    void chooseAndQuantizeAgree(Values values, long seed) {
        Random r = new Random(seed);
        int checked = 0;
        for (int k : WIDTHS) {
            int n = 1 + r.nextInt(4);
            Tensor x = bf16(n, k, values, r);
            for (Shape block : blocks(n, k)) {
                for (MappingType mapping : MappingType.values()) {
                    for (QuantRange range : RANGES) {
                        for (DivMode mode : DivMode.values()) {
                            for (QParamsOptions options : options()) {
                                String what = values + " seed " + seed + " " + x.shape() + " block " + block + " "
                                        + mapping + " " + range + " " + mode + " " + options;
                                QParams ref = AffineQuantization.chooseQParams(x, mapping, block, range, options, mode,
                                        Kernel.REFERENCE);
                                QParams vec = AffineQuantization.chooseQParams(x, mapping, block, range, options, mode,
                                        Kernel.VECTOR);
                                assertSameBits(ref.scale(), vec.scale(), what + " scale");
                                assertSameBits(ref.zeroPoint(), vec.zeroPoint(), what + " zero_point");
                                DType container = range.qmin() < 0 ? DType.I8 : DType.U8;
                                Tensor qr = AffineQuantization.quantize(x, block, ref.scale(), ref.zeroPoint(), range,
                                        container, Kernel.REFERENCE);
                                Tensor qv = AffineQuantization.quantize(x, block, ref.scale(), ref.zeroPoint(), range,
                                        container, Kernel.VECTOR);
                                assertSameBits(qr, qv, what + " q");
                                checked++;
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked > 1000, "only " + checked + " combinations checked");
    }

    /** Scales chosen to stress the quantize loop: tiny (reciprocal overflows), huge, zero, negative, NaN, Inf. */
    @ParameterizedTest(name = "scale dtype {0}")
    @MethodSource("scaleDtypes")
    void quantizeAgreesOnAdversarialScales(DType scaleDtype) {
        Random r = new Random(7);
        for (int k : WIDTHS) {
            int n = 3;
            Tensor x = bf16(n, k, Values.NORMAL, r);
            for (Shape block : blocks(n, k)) {
                Tensor scale = Tensor.allocate(scaleDtype, new BlockLayout(x.shape(), block).grid());
                Tensor zp = Tensor.allocate(DType.I32, scale.shape());
                for (long b = 0; b < scale.numel(); b++) {
                    float s = switch (r.nextInt(9)) {
                        case 0 -> 0f;
                        case 1 -> Float.NaN;
                        case 2 -> Float.POSITIVE_INFINITY;
                        case 3 -> 1e-39f;
                        case 4 -> -0.003f;
                        case 5 -> 3e38f;
                        default -> (float) Math.abs(r.nextGaussian()) * 0.002f;
                    };
                    scale.setFloat(b, s);
                    zp.setLong(b, r.nextInt(256));
                }
                for (boolean withZp : new boolean[] {false, true}) {
                    Tensor z = withZp ? zp : null;
                    QuantRange range = withZp ? QuantRange.uint8() : QuantRange.int8();
                    DType container = withZp ? DType.U8 : DType.I8;
                    Tensor qr = AffineQuantization.quantize(x, block, scale, z, range, container, Kernel.REFERENCE);
                    Tensor qv = AffineQuantization.quantize(x, block, scale, z, range, container, Kernel.VECTOR);
                    assertSameBits(qr, qv, x.shape() + " block " + block + " " + scaleDtype + " zp " + withZp);
                }
            }
        }
    }

    static Stream<DType> scaleDtypes() {
        return Stream.of(DType.BF16, DType.F32, DType.F16);
    }

    /** The equivalence above compares the vector code, not the reference twice: the weight configs are covered. */
    @Test
    void vectorPathCoversTheWeightConfigs() {
        Tensor x = Tensor.allocate(DType.BF16, Shape.of(2, 64));
        Tensor i8 = Tensor.allocate(DType.I8, x.shape());
        // Int8Tensor: bf16 x f32 reciprocal -> f32 product, int8 zero point
        assertTrue(VectorSegmentKernel.covers(x, new SegmentKernel.QuantizeSpec(DType.F32, true, DType.F32, -128, 127),
                i8));
        // IntxUnpackedToInt8Tensor: bf16 scale -> bf16 product
        assertTrue(VectorSegmentKernel.covers(x, new SegmentKernel.QuantizeSpec(DType.BF16, true, DType.BF16, -8, 7),
                i8));
        assertTrue(VectorSegmentKernel.LANES >= 8);
    }

    private static List<QParamsOptions> options() {
        return List.of(QParamsOptions.torchDefaults(DType.BF16),
                QParamsOptions.torchDefaults(DType.BF16).withEps(Int8Quantizer.EPS).withScaleDtype(DType.F32)
                        .withZeroPointDtype(DType.I8).withKeepdim(true),
                QParamsOptions.torchDefaults(DType.BF16).withScaleDtype(DType.F16));
    }

    private static List<Shape> blocks(int n, int k) {
        List<Shape> out = new ArrayList<>();
        out.add(Shape.of(1, k));
        out.add(Shape.of(n, k));
        for (int g : GROUPS) if (g < k && k % g == 0) out.add(Shape.of(1, g));
        return out;
    }

    private static Tensor bf16(int n, int k, Values values, Random r) {
        Tensor t = Tensor.allocate(DType.BF16, Shape.of(n, k));
        for (int i = 0; i < n * k; i++) t.setFloat(i, values.draw(r, i));
        return t;
    }

    private static void assertSameBits(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what);
        assertEquals(expected.shape(), actual.shape(), what);
        long m = expected.data().mismatch(actual.data());
        if (m >= 0) {
            long i = m / expected.dtype().byteSize();
            fail(what + ": element " + i + " differs: reference " + describe(expected, i) + ", vector "
                    + describe(actual, i));
        }
    }

    private static String describe(Tensor t, long i) {
        return t.dtype().isFloatingPoint() ? t.getFloat(i) + " (0x" + Integer.toHexString(Float.floatToRawIntBits(
                t.getFloat(i))) + ")" : Long.toString(t.getLong(i));
    }
}
