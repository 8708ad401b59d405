package dev.ao4j.quant.cuda;

import dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig;
import dev.ao4j.quant.config.Float8WeightOnlyConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.Int4PackingFormat;
import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.quant.config.Int8DynamicActivationInt8WeightConfig;
import dev.ao4j.quant.config.Int8WeightOnlyConfig;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig;
import dev.ao4j.quant.config.NVFP4WeightOnlyConfig;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.qtensor.MXTensor;
import dev.ao4j.quant.qtensor.NVFP4Tensor;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.float8.Float8Quantizer;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Backend;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link WeightQuantizer} that runs the CUDA kernels where it can and the CPU quantizer everywhere else, with
 * the same bits either way. It falls back to the CPU, with one log line saying why, when no CUDA backend can run
 * (no driver, no device, {@code --division cpu}, a recipe without kernels) and, for the rest of the run, after a
 * CUDA failure. Weights the kernels do not cover (not bf16, odd shapes) simply take the CPU path.
 */
public final class BackendQuantizer implements WeightQuantizer {
    private static final System.Logger LOG = System.getLogger("dev.ao4j.quant.cuda");

    /** The GPU version of one config's quantize, or null for a weight it does not cover. */
    @FunctionalInterface
    interface GpuQuantize {
        QuantizedTensor apply(CudaRunner gpu, Tensor weight);
    }

    /** Says for a weight whether {@link GpuQuantize} covers it. */
    @FunctionalInterface
    interface Covers {
        boolean test(Shape shape, DType dtype);
    }

    private final WeightQuantizer cpu;
    private final GpuQuantize gpuQuantize;
    private final Covers covers;
    private volatile CudaRunner gpu;
    private volatile String fallbackReason;
    private final AtomicLong onGpu = new AtomicLong();
    private final AtomicLong onCpu = new AtomicLong();

    BackendQuantizer(WeightQuantizer cpu, CudaRunner gpu, GpuQuantize gpuQuantize, Covers covers, String reason) {
        this.cpu = cpu;
        this.gpu = gpu;
        this.gpuQuantize = gpuQuantize;
        this.covers = covers;
        this.fallbackReason = reason;
    }

    /**
     * The quantizer for {@code config} on {@code backend}: {@link WeightQuantizers#forConfig} for the CPU, wrapped
     * with the CUDA kernels when {@code backend} is AUTO or CUDA and they can run.
     */
    public static BackendQuantizer forConfig(QuantConfig config, DivMode divMode, Kernel kernel, Backend backend) {
        WeightQuantizer cpu = WeightQuantizers.forConfig(config, divMode, kernel);
        if (backend == Backend.CPU) return new BackendQuantizer(cpu, null, null, null, "--device cpu");
        String why = null;
        CudaProbe.Status status = CudaProbe.status();
        if (!status.available()) why = status.reason();
        else if (divMode != DivMode.CUDA_RECIPROCAL) why = "the CUDA kernels reproduce --division cuda only";
        Kernels k = why == null ? kernelsFor(config) : null;
        if (why == null && k == null) why = "no CUDA kernel for " + config.getClass().getSimpleName();
        if (why != null) {
            log(backend, why);
            return new BackendQuantizer(cpu, null, null, null, why);
        }
        return new BackendQuantizer(cpu, CudaProbe.runner(), k.quantize(), k.covers(), null);
    }

    private static void log(Backend asked, String why) {
        LOG.log(asked == Backend.CUDA ? System.Logger.Level.WARNING : System.Logger.Level.INFO,
                "quantizing on the CPU: " + why);
    }

    /** CUDA while kernels run for this config, CPU otherwise (also after a fallback). */
    public Backend active() {
        return gpu != null ? Backend.CUDA : Backend.CPU;
    }

    /** Why the CPU runs, or null while CUDA does. */
    public String fallbackReason() {
        return fallbackReason;
    }

    /** Weights quantized on the GPU so far. */
    public long gpuCount() {
        return onGpu.get();
    }

    /** Weights quantized on the CPU so far. */
    public long cpuCount() {
        return onCpu.get();
    }

    @Override
    public String skipReason(Shape shape, DType dtype) {
        return cpu.skipReason(shape, dtype);
    }

    @Override
    public QuantizedTensor quantize(Tensor weight) {
        CudaRunner g = gpu;
        if (g != null && covers.test(weight.shape(), weight.dtype())) {
            try {
                QuantizedTensor q = gpuQuantize.apply(g, weight);
                onGpu.incrementAndGet();
                return q;
            } catch (CudaFailure e) {
                synchronized (this) {
                    if (gpu != null) {
                        gpu = null;
                        fallbackReason = "CUDA failed: " + e.getMessage();
                        LOG.log(System.Logger.Level.WARNING, "quantizing on the CPU from now on: " + fallbackReason);
                    }
                }
            }
        }
        onCpu.incrementAndGet();
        return cpu.quantize(weight);
    }

    @Override
    public Tensor dequantize(QuantizedTensor quantized) {
        return cpu.dequantize(quantized);
    }

    record Kernels(GpuQuantize quantize, Covers covers) {}

    /** The kernels for a config, or null when there are none; mirrors {@link WeightQuantizers#forConfig}. */
    static Kernels kernelsFor(QuantConfig config) {
        return switch (config) {
            case Int8WeightOnlyConfig c -> int8(c.granularity(), null, false);
            case Int8DynamicActivationInt8WeightConfig c -> int8(c.granularity().getLast(),
                    new Int8Tensor.ActivationQuant(c.granularity().getFirst(), c.actMappingType(), c.reduceRange()),
                    c.reduceRange());
            case Int4WeightOnlyConfig c when c.int4PackingFormat() == Int4PackingFormat.TILE_PACKED_TO_4D ->
                    new Kernels((g, w) -> CudaKernels.tinygemm(g, w, c.groupSize()),
                            (s, d) -> d == DType.BF16 && CudaKernels.int4Fits(s, c.groupSize()));
            case Int4WeightOnlyConfig c when c.int4PackingFormat() == Int4PackingFormat.PLAIN ->
                    new Kernels((g, w) -> CudaKernels.plain(g, w, c.groupSize()),
                            (s, d) -> d == DType.BF16 && CudaKernels.int4Fits(s, c.groupSize()));
            case Float8WeightOnlyConfig c -> float8(c.weightDtype(), c.granularity(), null, null);
            case Float8DynamicActivationFloat8WeightConfig c -> float8(c.weightDtype(), c.granularity().getLast(), c.mmConfig(),
                            new Float8Tensor.ActivationQuant(c.activationDtype(), c.granularity().getFirst(), null,
                                    toFloat(c.activationValueLb()), toFloat(c.activationValueUb()),
                                    c.kernelPreference()));
            case MXDynamicActivationMXWeightConfig c -> mx(c);
            case NVFP4WeightOnlyConfig c -> new Kernels(
                    (g, w) -> NVFP4Tensor.of(CudaKernels.nvfp4(g, w, c.useDynamicPerTensorScale()), false),
                    (s, d) -> d == DType.BF16 && CudaKernels.nvfp4Fits(s));
            default -> null;
        };
    }

    /** Mirrors WeightQuantizers' MX handler: blocks of 32, swizzled scales, activation kwargs = weight format. */
    private static Kernels mx(MXDynamicActivationMXWeightConfig c) {
        MxElement elem = MXDynamicActivationMXWeightConfig.element(c.weightDtype());
        MXTensor.ActivationQuant act = new MXTensor.ActivationQuant(
                MXDynamicActivationMXWeightConfig.element(c.activationDtype()), c.blockSize(), c.scalingMode(),
                c.kernelPreference(), true);
        return new Kernels((g, w) -> MXTensor.of(CudaKernels.mx(g, w, elem, c.scalingMode()), c.kernelPreference(),
                act), (s, d) -> d == DType.BF16 && CudaKernels.mxFits(s, elem));
    }

    private static Kernels int8(Granularity g, Int8Tensor.ActivationQuant act, boolean reduceRange) {
        return new Kernels((gpu, w) -> CudaKernels.int8(gpu, w, g, act, reduceRange),
                (s, d) -> d == DType.BF16 && CudaKernels.int8Segment(s, g) > 0);
    }

    private static Kernels float8(DType fp8, Granularity g, dev.ao4j.quant.config.Float8MMConfig mm,
                                  Float8Tensor.ActivationQuant act) {
        return new Kernels((gpu, w) -> {
            Float8Quantizer.Float8Data d = CudaKernels.fp8(gpu, w, g, fp8);
            return new Float8Tensor(d.qdata(), d.scale(), d.blockSize(), mm, act, KernelPreference.AUTO, w.dtype());
        }, (s, d) -> d == DType.BF16 && CudaKernels.fp8Block(s, g) != null);
    }

    private static Float toFloat(Double d) {
        return d == null ? null : d.floatValue();
    }
}
