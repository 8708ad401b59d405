package dev.ao4j.transformers.pack;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.float8.Float8Quantizer;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a FineGrainedFP8 package ({@code quant_method: "fp8"} with a {@code weight_block_size}, or
 * {@code "mxfp8"}): the state dict as transformers sees it after loading, with each quantized weight dequantized,
 * {@code w[i, j] = f32(q[i, j]) * weight_scale_inv[i / bn, j / bk]} (one f32 product, then one rounding to the
 * requested dtype, as {@code Float8Quantizer.dequantize}); for mxfp8 the U8 scale byte {@code e} stands for
 * {@code 2^(e - 127)}, as transformers' loader unpacks it.
 *
 * <p>Only whole blocks are read: a weight whose N or K is not a multiple of the block size (a ceil-div scale grid
 * with ragged edge blocks, which transformers' FP8Linear accepts) is refused, since ao4j never writes one.
 */
public final class Fp8PackageReader implements AutoCloseable {
    private final ShardedCheckpoint checkpoint;
    private final ModelConfig config;
    private final FineGrainedFp8Config quantizationConfig;
    private final List<String> names;

    private Fp8PackageReader(ShardedCheckpoint checkpoint, ModelConfig config, FineGrainedFp8Config q) {
        this.checkpoint = checkpoint;
        this.config = config;
        this.quantizationConfig = q;
        List<String> n = new ArrayList<>();
        for (String name : checkpoint.names()) {
            if (!name.endsWith(Fp8PackageWriter.SCALE_SUFFIX)) n.add(name);
        }
        this.names = List.copyOf(n);
    }

    /**
     * @throws UnsupportedFormatException when config.json has no fp8 blockwise {@code quantization_config}
     */
    public static Fp8PackageReader open(Path dir) {
        Path configFile = dir.resolve(ModelConfig.FILE_NAME);
        ModelConfig config = ModelConfig.read(configFile);
        Where where = Where.json(configFile, "quantization_config");
        FineGrainedFp8Config q = FineGrainedFp8Config.fromJson(config.quantizationConfigJson().orElseThrow(
                () -> new UnsupportedFormatException("not a quantized package: config.json has no "
                        + "quantization_config", Where.file(configFile))), where);
        ShardedCheckpoint checkpoint = ShardedCheckpoint.open(dir);
        try {
            return new Fp8PackageReader(checkpoint, config, q);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public FineGrainedFp8Config quantizationConfig() {
        return quantizationConfig;
    }

    /** The state-dict names: every stored tensor but the {@code weight_scale_inv} companions. */
    public List<String> names() {
        return names;
    }

    /** Whether {@code name} is a quantized weight (it has a {@code weight_scale_inv} companion). */
    public boolean isQuantized(String name) {
        return name.endsWith(".weight") && checkpoint.contains(scaleName(name));
    }

    /** The stored tensor under {@code name} (the e4m3fn codes of a quantized weight; a view of the file). */
    public Tensor stored(String name) {
        return checkpoint.tensor(name);
    }

    /** The {@code weight_scale_inv} of quantized weight {@code name} (a view of the file). */
    public Tensor scale(String name) {
        return checkpoint.tensor(scaleName(name));
    }

    /**
     * {@code name} as transformers computes with it: a quantized weight dequantized into {@code out} (BF16, F16 or
     * F32; a NaN product keeps the CUDA bit pattern); any other tensor as stored.
     *
     * @throws MalformedInputException when the codes are not F8_E4M3 or the scale is not F32 of the block grid
     */
    public Tensor tensor(String name, DType out) {
        if (!isQuantized(name)) return checkpoint.tensor(name);
        Tensor q = checkpoint.tensor(name);
        Tensor s = checkpoint.tensor(scaleName(name));
        Where where = Where.tensor(checkpoint.fileOf(name), name);
        if (q.dtype() != DType.F8_E4M3 || q.shape().rank() != 2) {
            throw new MalformedInputException("quantized weight must be a 2-D F8_E4M3 tensor but is " + q.dtype()
                    + " " + q.shape(), where);
        }
        long n = q.shape().dim(0);
        long k = q.shape().dim(1);
        int bn = quantizationConfig.blockRows();
        int bk = quantizationConfig.blockCols();
        Shape grid = Shape.of(ceilDiv(n, bn), ceilDiv(k, bk));
        DType scaleDtype = quantizationConfig.isMxfp8() ? DType.U8 : DType.F32;
        if (s.dtype() != scaleDtype || !s.shape().equals(grid)) {
            throw new MalformedInputException(scaleName(name) + " must be " + scaleDtype + " " + grid + " (ceil([" + n + ", " + k
                    + "] / " + quantizationConfig.weightBlockSize() + ")) but is " + s.dtype() + " " + s.shape(),
                    Where.tensor(checkpoint.fileOf(scaleName(name)), scaleName(name)));
        }
        if (n % bn != 0 || k % bk != 0) {
            throw new UnsupportedFormatException("weight " + q.shape() + " has partial edge blocks of "
                    + quantizationConfig.weightBlockSize() + "; only whole blocks are supported", where);
        }
        if (quantizationConfig.isMxfp8()) s = exponentMultipliers(s);
        return Float8Quantizer.dequantize(q, s, out, DivMode.CUDA_RECIPROCAL);
    }

    /** E8M0 bytes as the f32 multipliers transformers computes from them: {@code exp2(e - 127)}. */
    private static Tensor exponentMultipliers(Tensor bytes) {
        Tensor f = Tensor.allocate(DType.F32, bytes.shape());
        for (long i = 0; i < bytes.numel(); i++) f.setFloat(i, (float) Math.scalb(1.0, (bytes.getByte(i) & 0xFF) - 127));
        return f;
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    private static String scaleName(String weightName) {
        return weightName.substring(0, weightName.length() - ".weight".length()) + Fp8PackageWriter.SCALE_SUFFIX;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
