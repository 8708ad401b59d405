package dev.ao4j.quant.affine;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * torchao's {@code Int8Tensor.from_hp} and {@code dequantize} (version 2; torchao-numerics §3), behind
 * Int8WeightOnlyConfig, Int8DynamicActivationInt8WeightConfig and their dynamic activation quantization.
 *
 * <p>Unlike the plain primitive defaults, Int8Tensor asks {@code choose_qparams_affine} for an f32 scale, an int8
 * zero point, keepdim, and eps = 2^-23 (f32 machine epsilon) for every input dtype. The scale formula still runs
 * in the input dtype, so a bf16 weight gets {@code f32(clamp(bf16(amax / 127.5), 2^-23))}; the quantize product
 * is then f32 (bf16 weight times f32 reciprocal).
 */
public final class Int8Quantizer {
    /** {@code torch.finfo(torch.float32).eps}, the scale floor Int8Tensor uses for every input dtype. */
    public static final double EPS = 0x1p-23;

    private Int8Quantizer() {}

    /**
     * A weight as Int8WeightOnlyConfig ({@code activationQuant == null}) or Int8DynamicActivationInt8WeightConfig
     * builds it: symmetric, granularity PerRow (default), PerTensor or PerGroup.
     *
     * @param activationQuant the activation kwargs stored on the weight, null for weight-only
     * @param reduceRange     quantize to [-64, 63] (divisor 63.5) instead of [-128, 127]
     */
    public static Int8Tensor weight(Tensor weight, Granularity granularity, Int8Tensor.ActivationQuant activationQuant,
                                    boolean reduceRange, DivMode divMode, Kernel kernel) {
        return fromHighPrecision(weight, granularity, MappingType.SYMMETRIC, activationQuant, reduceRange, divMode,
                kernel);
    }

    /**
     * The dynamic activation quantization an Int8DynamicActivationInt8WeightConfig weight applies to its input
     * at run time: {@code Int8Tensor.from_hp(x, kwargs.granularity, kwargs.mappingType, reduce_range)}. PerRow is
     * per token ({@code [1, .., 1, K]} blocks); ASYMMETRIC adds an int8 zero point.
     */
    public static Int8Tensor activation(Tensor x, Int8Tensor.ActivationQuant kwargs, DivMode divMode, Kernel kernel) {
        return fromHighPrecision(x, kwargs.granularity(), kwargs.mappingType(), null, kwargs.reduceRange(), divMode,
                kernel);
    }

    /** {@code Int8Tensor.from_hp(hp, granularity, mapping_type, act_quant_kwargs, reduce_range)}. */
    public static Int8Tensor fromHighPrecision(Tensor hp, Granularity granularity, MappingType mapping,
                                               Int8Tensor.ActivationQuant activationQuant, boolean reduceRange,
                                               DivMode divMode, Kernel kernel) {
        if (!(granularity instanceof Granularity.PerRow || granularity instanceof Granularity.PerTensor
                || granularity instanceof Granularity.PerGroup)) {
            throw new InvalidConfigException("Int8Tensor granularity must be PerRow, PerTensor or PerGroup but was "
                    + granularity);
        }
        Shape blockSize = BlockLayout.blockSizeFor(hp.shape(), granularity);
        QuantRange range = reduceRange ? QuantRange.int8ReduceRange() : QuantRange.int8();
        QParamsOptions options = QParamsOptions.torchDefaults(hp.dtype())
                .withEps(EPS).withScaleDtype(DType.F32).withZeroPointDtype(DType.I8).withKeepdim(true);
        QParams qp = AffineQuantization.chooseQParams(hp, mapping, blockSize, range, options, divMode, kernel);
        Tensor qdata = AffineQuantization.quantize(hp, blockSize, qp.scale(), qp.zeroPoint(), range, DType.I8, kernel);
        return new Int8Tensor(qdata, qp.scale(), qp.zeroPoint(), blockSize, hp.dtype(), activationQuant, reduceRange);
    }

    /** {@code Int8Tensor.dequantize()}: to the original dtype. */
    public static Tensor dequantize(Int8Tensor t) {
        return dequantize(t, t.originalDtype());
    }

    /** {@code Int8Tensor.dequantize(output_dtype)}. */
    public static Tensor dequantize(Int8Tensor t, DType outputDtype) {
        return AffineQuantization.dequantize(t.qdata(), t.blockSize(), t.scale(), t.zeroPoint(), outputDtype);
    }
}
