package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.affine.Int8Quantizer;
import dev.ao4j.quant.affine.IntxQuantizer;
import dev.ao4j.quant.affine.IntxWeightSpec;
import dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig;
import dev.ao4j.quant.config.Float8WeightOnlyConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.quant.config.Int8DynamicActivationInt8WeightConfig;
import dev.ao4j.quant.config.Int8DynamicActivationIntxWeightConfig;
import dev.ao4j.quant.config.Int8WeightOnlyConfig;
import dev.ao4j.quant.config.IntxChooseQParamsAlgorithm;
import dev.ao4j.quant.config.IntxPackingFormat;
import dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig;
import dev.ao4j.quant.config.NVFP4WeightOnlyConfig;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.float8.Float8Quantizer;
import dev.ao4j.quant.float8.Float8Spec;
import dev.ao4j.quant.int4.Int4Plain;
import dev.ao4j.quant.int4.Int4TilePacked;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.MxQuantizer;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.nvfp4.Nvfp4Quantizer;
import dev.ao4j.quant.nvfp4.Nvfp4Tensor;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.qtensor.Int4TilePackedTo4dTensor;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.qtensor.MXTensor;
import dev.ao4j.quant.qtensor.NVFP4Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import java.util.Set;

/**
 * The numerics behind each torchao config: {@code forConfig} is to ao4j what torchao's per-config
 * {@code _..._transform} handlers are to {@code quantize_}. Eligibility rules mirror torchao's silent skips, but
 * here they come back as reasons for the report.
 */
public final class WeightQuantizers {
    private static final Set<DType> HIGH_PRECISION = Set.of(DType.BF16, DType.F16, DType.F32);

    private WeightQuantizers() {}

    /**
     * @param divMode which device's scalar-division rounding to reproduce
     * @param kernel  reference loops or their Vector API twins (bit-identical)
     */
    public static WeightQuantizer forConfig(QuantConfig config, DivMode divMode, Kernel kernel) {
        return switch (config) {
            case Int4WeightOnlyConfig c -> int4(c, divMode, kernel);
            case Int8WeightOnlyConfig c -> int8(c.granularity(), null, false, divMode, kernel);
            case Int8DynamicActivationInt8WeightConfig c -> int8(c.granularity().getLast(),
                    new Int8Tensor.ActivationQuant(c.granularity().getFirst(), c.actMappingType(), c.reduceRange()),
                    c.reduceRange(), divMode, kernel);
            case Int8DynamicActivationIntxWeightConfig c -> intx(c, divMode, kernel);
            case Float8WeightOnlyConfig c -> float8(Float8Spec.of(c.weightDtype(), c.granularity()), null, null,
                    false, divMode, kernel);
            case Float8DynamicActivationFloat8WeightConfig c -> float8(
                    Float8Spec.of(c.weightDtype(), c.granularity().getLast()), c.mmConfig(),
                    new Float8Tensor.ActivationQuant(c.activationDtype(), c.granularity().getFirst(), null,
                            toFloat(c.activationValueLb()), toFloat(c.activationValueUb()), c.kernelPreference()),
                    true, divMode, kernel);
            case MXDynamicActivationMXWeightConfig c -> mx(c, divMode, kernel);
            case NVFP4WeightOnlyConfig c -> nvfp4(c, divMode, kernel);
        };
    }

    /**
     * {@link #forConfig(QuantConfig, DivMode, Kernel)} on a {@link Backend}: the CUDA kernels where they run and
     * cover the weight, the CPU quantizer otherwise, with the same bits (see {@code dev.ao4j.quant.cuda}).
     */
    public static WeightQuantizer forConfig(QuantConfig config, DivMode divMode, Kernel kernel, Backend backend) {
        return dev.ao4j.quant.cuda.BackendQuantizer.forConfig(config, divMode, kernel, backend);
    }

    /**
     * torchao's MX handler: bf16 weights only, in-features a multiple of the block size (32), scales swizzled for
     * the cuBLAS/CUTLASS block-scaled GEMM; the activation kwargs repeat the weight's format.
     */
    private static WeightQuantizer mx(MXDynamicActivationMXWeightConfig c, DivMode divMode, Kernel kernel) {
        MxElement elem = MXDynamicActivationMXWeightConfig.element(c.weightDtype());
        MXTensor.ActivationQuant act = new MXTensor.ActivationQuant(
                MXDynamicActivationMXWeightConfig.element(c.activationDtype()), c.blockSize(), c.scalingMode(),
                c.kernelPreference(), true);
        return new Impl(shape -> lastDimMultiple(shape, c.blockSize(), "MX block size"), Set.of(DType.BF16),
                w -> MXTensor.of(MxQuantizer.quantize(w, elem, c.scalingMode(), true, divMode, kernel),
                        c.kernelPreference(), act),
                q -> MxQuantizer.dequantize(((MXTensor) q).numerics(), DType.F32, divMode));
    }

    /** torchao's NVFP4 weight-only handler: bf16 weights, in-features a multiple of 16, swizzled scales. */
    private static WeightQuantizer nvfp4(NVFP4WeightOnlyConfig c, DivMode divMode, Kernel kernel) {
        int block = Nvfp4Tensor.BLOCK_SIZE;
        return new Impl(shape -> lastDimMultiple(shape, block, "NVFP4 block size"), Set.of(DType.BF16),
                w -> NVFP4Tensor.of(Nvfp4Quantizer.quantize(w, c.useDynamicPerTensorScale()
                        ? Nvfp4Quantizer.perTensorScale(w, divMode, kernel) : null, true, divMode, kernel), false),
                q -> Nvfp4Quantizer.dequantize(((NVFP4Tensor) q).numerics(), DType.F32, divMode));
    }

    private static WeightQuantizer int4(Int4WeightOnlyConfig c, DivMode divMode, Kernel kernel) {
        int g = c.groupSize();
        return switch (c.int4PackingFormat()) {
            case PLAIN -> new Impl(shape -> lastDimMultiple(shape, g, "group_size"), Set.of(DType.BF16, DType.F16,
                    DType.F32), w -> Int4Plain.quantize(w, g, divMode, kernel),
                    q -> Int4Plain.dequantize((Int4Tensor) q));
            case TILE_PACKED_TO_4D -> {
                if (c.int4TilePackedNtile() != Int4TilePacked.N_TILE) {
                    throw new UnsupportedFormatException("Int4WeightOnlyConfig.int4_tile_packed_ntile "
                            + c.int4TilePackedNtile() + " (ROCm) is not supported; supported: " + Int4TilePacked.N_TILE);
                }
                yield new Impl(shape -> lastDimMultiple(shape, g, "group_size"), Set.of(DType.BF16),
                        w -> Int4TilePacked.quantize(w, g, divMode, kernel),
                        q -> Int4TilePacked.dequantize((Int4TilePackedTo4dTensor) q));
            }
            default -> throw new UnsupportedFormatException("Int4WeightOnlyConfig.int4_packing_format "
                    + c.int4PackingFormat() + " is not serializable by torchao; supported: PLAIN, TILE_PACKED_TO_4D");
        };
    }

    private static WeightQuantizer int8(Granularity weightGranularity, Int8Tensor.ActivationQuant act,
                                        boolean reduceRange, DivMode divMode, Kernel kernel) {
        return new Impl(shape -> weightGranularity instanceof Granularity.PerGroup(int g)
                ? lastDimMultiple(shape, g, "group size") : null, HIGH_PRECISION,
                w -> Int8Quantizer.weight(w, weightGranularity, act, reduceRange, divMode, kernel),
                q -> Int8Quantizer.dequantize((Int8Tensor) q, DType.F32));
    }

    private static WeightQuantizer intx(Int8DynamicActivationIntxWeightConfig c, DivMode divMode, Kernel kernel) {
        if (c.intxPackingFormat() != IntxPackingFormat.UNPACKED_TO_INT8
                || c.intxChooseQparamsAlgorithm() != IntxChooseQParamsAlgorithm.AFFINE) {
            throw new UnsupportedFormatException("Int8DynamicActivationIntxWeightConfig with intx_packing_format "
                    + c.intxPackingFormat() + " and intx_choose_qparams_algorithm " + c.intxChooseQparamsAlgorithm()
                    + "; supported: UNPACKED_TO_INT8 with AFFINE (the serializable, ExecuTorch-exportable form)");
        }
        IntxWeightSpec spec = new IntxWeightSpec(c.weightBits(), c.weightGranularity(), c.weightMappingType(),
                c.weightScaleDtype());
        return new Impl(shape -> c.weightGranularity() instanceof Granularity.PerGroup(int g)
                ? lastDimMultiple(shape, g, "group size") : null, HIGH_PRECISION,
                w -> IntxQuantizer.fromHighPrecision(w, spec, IntxQuantizer.INT8_ASYM_PER_TOKEN, divMode, kernel),
                q -> IntxQuantizer.dequantize((IntxUnpackedToInt8Tensor) q));
    }

    private static WeightQuantizer float8(Float8Spec spec, dev.ao4j.quant.config.Float8MMConfig mm,
                                          Float8Tensor.ActivationQuant act, boolean dynamic, DivMode divMode,
                                          Kernel kernel) {
        // torchao's dynamic fp8 config leaves weights with N or K not a multiple of 16 alone (its fp8 GEMMs need it)
        ShapeRule gemm = dynamic ? shape -> shape.dim(0) % 16 != 0 || shape.dim(1) % 16 != 0
                ? "shape " + shape + " not a multiple of 16 in both dims (fp8 GEMM requirement)" : null : shape -> null;
        // blockwise scales cover whole blocks only: torchao fails on a partial block, and so does transformers'
        // own FineGrainedFP8 quantizer, so such weights stay in high precision
        ShapeRule rule = spec.granularity() instanceof Granularity.PerBlock(List<Integer> b) && b.size() == 2
                ? shape -> {
                    String r = gemm.skipReason(shape);
                    return r != null || shape.dim(0) % b.get(0) == 0 && shape.dim(1) % b.get(1) == 0 ? r
                            : "shape " + shape + " not a multiple of the " + b.get(0) + "x" + b.get(1) + " block";
                } : gemm;
        Set<DType> dtypes = spec.granularity() instanceof Granularity.PerRow ? Set.of(DType.BF16) : HIGH_PRECISION;
        return new Impl(rule, dtypes, w -> Float8Quantizer.fromHighPrecision(w, spec, mm, act,
                dev.ao4j.quant.config.KernelPreference.AUTO, divMode, kernel),
                q -> Float8Quantizer.dequantize((Float8Tensor) q, DType.F32, divMode));
    }

    private static String lastDimMultiple(Shape shape, int g, String what) {
        return shape.cols() % g == 0 ? null
                : "in-features " + shape.cols() + " not a multiple of " + what + " " + g;
    }

    private static Float toFloat(Double d) {
        return d == null ? null : d.floatValue();
    }

    @FunctionalInterface
    private interface ShapeRule {
        String skipReason(Shape shape);
    }

    private record Impl(ShapeRule rule, Set<DType> dtypes, java.util.function.Function<Tensor, QuantizedTensor> quantizer,
                        java.util.function.Function<QuantizedTensor, Tensor> dequantizer) implements WeightQuantizer {
        @Override
        public String skipReason(Shape shape, DType dtype) {
            if (!dtypes.contains(dtype)) {
                return "dtype " + dtype.torchName() + " not supported by this config (needs one of "
                        + List.copyOf(dtypes).stream().map(DType::torchName).sorted().toList() + ")";
            }
            return rule.skipReason(shape);
        }

        @Override
        public QuantizedTensor quantize(Tensor weight) {
            return quantizer.apply(weight);
        }

        @Override
        public Tensor dequantize(QuantizedTensor quantized) {
            return dequantizer.apply(quantized);
        }
    }
}
