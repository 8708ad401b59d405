package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.transformers.pack.PackageCheck;
import java.util.List;

/**
 * How {@link GptqPackager} writes a GPTQ package.
 *
 * @param bits                4 or 8 (what vLLM's gptq_marlin accepts)
 * @param groupSize           32, 64, 128, or −1 for one group per output channel (gptq_marlin's set)
 * @param format              zero-point convention of {@code qzeros} (v1 is what most loaders expect)
 * @param modulesToNotConvert extra modules kept in high precision (name, dotted suffix or {@code re:REGEX}, as
 *                            {@link dev.ao4j.quant.pipeline.ModuleSelector} matches them)
 * @param maxShardBytes       tensor bytes per safetensors shard
 * @param replace             whether an existing output directory may be replaced (once the new one is complete)
 * @param measureError        whether the report carries each weight's SQNR
 * @param check               run on the finished package before it is published (e.g. a vLLM-compatibility check)
 * @param kernel              which implementation of the numerics and packing runs (same bytes)
 */
public record GptqOptions(int bits, int groupSize, GptqCheckpointFormat format, List<String> modulesToNotConvert,
                          long maxShardBytes, boolean replace, boolean measureError,
                          PackageCheck check, Kernel kernel) {
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    public GptqOptions {
        if (bits != 4 && bits != 8) {
            throw new InvalidConfigException("GPTQ bits must be 4 or 8 (vLLM's gptq_marlin) but was " + bits);
        }
        if (groupSize != -1 && groupSize != 32 && groupSize != 64 && groupSize != 128) {
            throw new InvalidConfigException("GPTQ group size must be 32, 64, 128 or -1 (per channel; vLLM's "
                    + "gptq_marlin) but was " + groupSize);
        }
        if (format == null) throw new InvalidConfigException("GPTQ checkpoint format must be set");
        if (maxShardBytes <= 0) throw new InvalidConfigException("max shard size must be positive but was " + maxShardBytes);
        modulesToNotConvert = List.copyOf(modulesToNotConvert);
        if (check == null) check = PackageCheck.NONE;
        if (kernel == null) kernel = Kernel.VECTOR;
    }

    /** 4-bit, group 128, v1 zeros, 5 GB shards, no replace, SQNR measured, no check. */
    public static GptqOptions defaults() {
        return new GptqOptions(4, 128, GptqCheckpointFormat.V1, List.of(), DEFAULT_SHARD_BYTES, false, true,
                PackageCheck.NONE, Kernel.VECTOR);
    }

    public GptqOptions withBits(int b) {
        return new GptqOptions(b, groupSize, format, modulesToNotConvert, maxShardBytes, replace, measureError,
                check, kernel);
    }

    public GptqOptions withGroupSize(int g) {
        return new GptqOptions(bits, g, format, modulesToNotConvert, maxShardBytes, replace, measureError, check,
                kernel);
    }

    public GptqOptions withFormat(GptqCheckpointFormat f) {
        return new GptqOptions(bits, groupSize, f, modulesToNotConvert, maxShardBytes, replace, measureError, check,
                kernel);
    }

    public GptqOptions withModulesToNotConvert(List<String> m) {
        return new GptqOptions(bits, groupSize, format, m, maxShardBytes, replace, measureError, check, kernel);
    }

    public GptqOptions withMaxShardBytes(long s) {
        return new GptqOptions(bits, groupSize, format, modulesToNotConvert, s, replace, measureError, check, kernel);
    }

    public GptqOptions withReplace(boolean r) {
        return new GptqOptions(bits, groupSize, format, modulesToNotConvert, maxShardBytes, r, measureError, check,
                kernel);
    }

    public GptqOptions withMeasureError(boolean m) {
        return new GptqOptions(bits, groupSize, format, modulesToNotConvert, maxShardBytes, replace, m, check, kernel);
    }

    public GptqOptions withCheck(PackageCheck c) {
        return new GptqOptions(bits, groupSize, format, modulesToNotConvert, maxShardBytes, replace, measureError, c,
                kernel);
    }

    /** {@link Kernel#REFERENCE} (the plain loops) or {@link Kernel#VECTOR} (the default): the same package bytes. */
    public GptqOptions withKernel(Kernel k) {
        return new GptqOptions(bits, groupSize, format, modulesToNotConvert, maxShardBytes, replace, measureError,
                check, k);
    }
}
