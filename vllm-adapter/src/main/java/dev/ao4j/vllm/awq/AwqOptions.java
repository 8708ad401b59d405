package dev.ao4j.vllm.awq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.transformers.pack.PackageCheck;
import java.util.List;

/**
 * How {@link AwqPackager} writes an AWQ package (always 4-bit, zero points, gemm layout).
 *
 * @param groupSize           32, 64, 128, or −1 for one group per output channel (awq_marlin's set)
 * @param modulesToNotConvert extra modules kept in high precision (name, dotted suffix or {@code re:REGEX}, as
 *                            {@link dev.ao4j.quant.pipeline.ModuleSelector} matches them)
 * @param maxShardBytes       tensor bytes per safetensors shard
 * @param replace             whether an existing output directory may be replaced (once the new one is complete)
 * @param measureError        whether the report carries each weight's SQNR
 * @param check               run on the finished package before it is published
 * @param kernel              which implementation of the numerics and packing runs (same bytes)
 */
public record AwqOptions(int groupSize, List<String> modulesToNotConvert, long maxShardBytes, boolean replace,
                         boolean measureError, PackageCheck check, Kernel kernel) {
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    public AwqOptions {
        if (groupSize != -1 && groupSize != 32 && groupSize != 64 && groupSize != 128) {
            throw new InvalidConfigException("AWQ group size must be 32, 64, 128 or -1 (per channel; vLLM's "
                    + "awq_marlin) but was " + groupSize);
        }
        if (maxShardBytes <= 0) throw new InvalidConfigException("max shard size must be positive but was " + maxShardBytes);
        modulesToNotConvert = List.copyOf(modulesToNotConvert);
        if (check == null) check = PackageCheck.NONE;
        if (kernel == null) kernel = Kernel.VECTOR;
    }

    /** Group 128, 5 GB shards, no replace, SQNR measured, no check. */
    public static AwqOptions defaults() {
        return new AwqOptions(128, List.of(), DEFAULT_SHARD_BYTES, false, true, PackageCheck.NONE, Kernel.VECTOR);
    }

    public AwqOptions withGroupSize(int g) {
        return new AwqOptions(g, modulesToNotConvert, maxShardBytes, replace, measureError, check, kernel);
    }

    public AwqOptions withModulesToNotConvert(List<String> m) {
        return new AwqOptions(groupSize, m, maxShardBytes, replace, measureError, check, kernel);
    }

    public AwqOptions withMaxShardBytes(long s) {
        return new AwqOptions(groupSize, modulesToNotConvert, s, replace, measureError, check, kernel);
    }

    public AwqOptions withReplace(boolean r) {
        return new AwqOptions(groupSize, modulesToNotConvert, maxShardBytes, r, measureError, check, kernel);
    }

    public AwqOptions withMeasureError(boolean m) {
        return new AwqOptions(groupSize, modulesToNotConvert, maxShardBytes, replace, m, check, kernel);
    }

    public AwqOptions withCheck(PackageCheck c) {
        return new AwqOptions(groupSize, modulesToNotConvert, maxShardBytes, replace, measureError, c, kernel);
    }

    /** {@link Kernel#REFERENCE} (the plain loops) or {@link Kernel#VECTOR} (the default): the same package bytes. */
    public AwqOptions withKernel(Kernel k) {
        return new AwqOptions(groupSize, modulesToNotConvert, maxShardBytes, replace, measureError, check, k);
    }
}
