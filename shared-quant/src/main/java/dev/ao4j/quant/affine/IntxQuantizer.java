package dev.ao4j.quant.affine;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * torchao's {@code IntxUnpackedToInt8Tensor.from_hp} (AFFINE algorithm), its {@code dequantize}, and the
 * per-token int8 activation quantize→dequantize of "8da*w" (torchao-numerics §4).
 *
 * <p>The qparams use torchao's defaults (eps = smallest normal, scale in the weight dtype), so for a bf16 weight
 * the whole computation is bf16 and the bf16 rounding of {@code x * (1/scale)} decides ties (R6).
 */
public final class IntxQuantizer {
    /** The {@code activation_quantization} value of Int8DynamicActivationIntxWeightConfig weights. */
    public static final String INT8_ASYM_PER_TOKEN = "int8_asym_per_token";

    private IntxQuantizer() {}

    /**
     * {@code IntxUnpackedToInt8Tensor.from_hp(weight, (1, g), torch.intN, mapping_type)} for a 2-D weight [N, K],
     * followed (when {@code spec.scaleDtype()} differs from the weight dtype) by torchao's scale-dtype adjustment:
     * cast the scale, recompute qdata with it.
     *
     * @param activationQuantization {@link #INT8_ASYM_PER_TOKEN} for 8da*w weights, null for weight-only
     */
    public static IntxUnpackedToInt8Tensor fromHighPrecision(Tensor weight, IntxWeightSpec spec,
                                                             String activationQuantization, DivMode divMode,
                                                             Kernel kernel) {
        if (weight.shape().rank() != 2) {
            throw new InvalidConfigException("intx weight must be 2-D [N, K] but has shape " + weight.shape());
        }
        if (activationQuantization != null && !activationQuantization.equals(INT8_ASYM_PER_TOKEN)) {
            throw new InvalidConfigException("activationQuantization must be null or '" + INT8_ASYM_PER_TOKEN
                    + "' but was '" + activationQuantization + "'");
        }
        long k = weight.shape().dim(1);
        long group = switch (spec.granularity()) {
            case Granularity.PerGroup(int g) -> g;
            default -> k; // PerAxis(0): one group per row
        };
        if (k % group != 0) {
            throw new InvalidConfigException("group size " + group + " must divide in_features " + k + " of weight "
                    + weight.shape());
        }
        Shape blockSize = Shape.of(1L, group);
        QuantRange range = spec.range();
        QParamsOptions options = QParamsOptions.torchDefaults(weight.dtype())
                .withZeroPointDtype(DType.I8).withKeepdim(true);
        QParams qp = AffineQuantization.chooseQParams(weight, spec.mappingType(), blockSize, range, options, divMode,
                kernel);
        Tensor scale = qp.scale();
        if (spec.scaleDtype() != null && spec.scaleDtype() != weight.dtype()) {
            scale = AffineQuantization.castFloat(scale, spec.scaleDtype());
        }
        Tensor qdata = AffineQuantization.quantize(weight, blockSize, scale, qp.zeroPoint(), range, DType.I8, kernel);
        return new IntxUnpackedToInt8Tensor(qdata, scale, qp.zeroPoint(), spec.bits(), blockSize, weight.dtype(),
                activationQuantization);
    }

    /** {@code IntxUnpackedToInt8Tensor.dequantize()}: to the original dtype. */
    public static Tensor dequantize(IntxUnpackedToInt8Tensor t) {
        return AffineQuantization.dequantize(t.qdata(), t.blockSize(), t.scale(), t.zeroPoint(), t.originalDtype());
    }

    /**
     * What an 8da*w linear does to its input before the matmul: per-token (blocks {@code [1, .., 1, K]})
     * asymmetric int8 quantization with torchao's default eps and a scale in {@code x}'s dtype, an int8 zero
     * point, then dequantization back to {@code x}'s dtype.
     */
    public static Tensor int8AsymPerTokenQuantDequant(Tensor x, DivMode divMode, Kernel kernel) {
        Shape blockSize = BlockLayout.blockSizeFor(x.shape(), new Granularity.PerRow());
        QuantRange range = QuantRange.int8();
        QParamsOptions options = QParamsOptions.torchDefaults(x.dtype()).withZeroPointDtype(DType.I8);
        QParams qp = AffineQuantization.chooseQParams(x, MappingType.ASYMMETRIC, blockSize, range, options, divMode,
                kernel);
        Tensor q = AffineQuantization.quantize(x, blockSize, qp.scale(), qp.zeroPoint(), range, DType.I8, kernel);
        return AffineQuantization.dequantize(q, blockSize, qp.scale(), qp.zeroPoint(), x.dtype());
    }
}
