package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.FusedGroups;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.TensorResult;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.safetensors.TensorInfo;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.PackageCheck;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One call from a Hugging Face model directory to a compressed-tensors package: streams the checkpoint tensor by
 * tensor (memory-mapped; memory bounded by the largest tensor), quantizes every Linear weight {@link ModuleSelector}
 * picks and the scheme accepts, keeps the rest as stored, and publishes atomically.
 *
 * <p>Fused groups (q/k/v, gate/up) are decided together: if the scheme cannot take one member, all members stay in
 * high precision (vLLM refuses mixed groups). For NVFP4 a cheap pre-pass reads each group's members once for their
 * absolute maximum so that they share one {@code weight_global_scale}.
 */
public final class CompressedTensorsPackager {
    private CompressedTensorsPackager() {}

    /**
     * @param scheme        what to write
     * @param selector      which weights are Linear weights to quantize ({@link ModuleSelector#defaults()}:
     *                      all but embeddings and {@code lm_head})
     * @param divMode       which device's Python-scalar division rounding to reproduce
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing output directory may be replaced
     * @param measureError  whether to dequantize each weight again for its SQNR in the report
     * @param check         run on the finished package before it is published
     * @param kernel        which implementation of the numerics runs (same bytes)
     */
    public record Options(CompressedTensorsScheme scheme, ModuleSelector selector, DivMode divMode,
                         long maxShardBytes, boolean replace, boolean measureError, QuantListener listener,
                         PackageCheck check, Kernel kernel) {
        public static Options of(CompressedTensorsScheme scheme) {
            return new Options(scheme, ModuleSelector.defaults(), DivMode.defaultMode(), 5_000_000_000L, false, true,
                    QuantListener.NONE, PackageCheck.NONE, Kernel.VECTOR);
        }

        public Options withReplace(boolean r) {
            return new Options(scheme, selector, divMode, maxShardBytes, r, measureError, listener, check, kernel);
        }

        public Options withMaxShardBytes(long b) {
            return new Options(scheme, selector, divMode, b, replace, measureError, listener, check, kernel);
        }

        public Options withSelector(ModuleSelector s) {
            return new Options(scheme, s, divMode, maxShardBytes, replace, measureError, listener, check, kernel);
        }

        public Options withDivMode(DivMode d) {
            return new Options(scheme, selector, d, maxShardBytes, replace, measureError, listener, check, kernel);
        }

        public Options withListener(QuantListener l) {
            return new Options(scheme, selector, divMode, maxShardBytes, replace, measureError, l, check, kernel);
        }

        public Options withCheck(PackageCheck c) {
            return new Options(scheme, selector, divMode, maxShardBytes, replace, measureError, listener, c, kernel);
        }

        public Options withMeasureError(boolean m) {
            return new Options(scheme, selector, divMode, maxShardBytes, replace, m, listener, check, kernel);
        }

        /** {@link Kernel#REFERENCE} (the plain loops) or {@link Kernel#VECTOR} (the default): same bytes. */
        public Options withKernel(Kernel k) {
            return new Options(scheme, selector, divMode, maxShardBytes, replace, measureError, listener, check, k);
        }
    }

    /** Packages {@code modelDir} (config.json + single or sharded safetensors) into {@code out}. */
    public static QuantReport write(Path modelDir, Path out, Options options) {
        ModelConfig config = ModelConfig.read(modelDir.resolve(ModelConfig.FILE_NAME));
        CtQuantizer quantizer = new CtQuantizer(options.scheme(), options.divMode(), options.kernel());
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             CompressedTensorsWriter sink = CompressedTensorsWriter.create(modelDir, config, options.scheme(), out,
                     options.maxShardBytes(), options.replace(), options.check())) {
            return run(source, quantizer, options, sink);
        }
    }

    /** The decisions and the stream, into an already created writer (committed on success). */
    public static QuantReport run(ShardedCheckpoint source, CtQuantizer quantizer, Options options,
                                  CompressedTensorsWriter sink) {
        long start = System.nanoTime();
        List<String> names = source.names();
        Map<String, String> skips = decide(source, quantizer, options.selector());
        Map<String, Float> groupAmax = quantizer.sharesGroupScale() ? groupAmax(source, quantizer, skips)
                : Map.of();
        QuantListener listener = options.listener();
        listener.runStarted(names.size(), names.stream().mapToLong(n -> source.info(n).byteSize()).sum());
        List<TensorResult> results = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            listener.tensorStarted(i, name);
            long t0 = System.nanoTime();
            TensorInfo info = source.info(name);
            Tensor tensor = source.tensor(name);
            String skip = skips.get(name);
            TensorResult r;
            if (skip != null) {
                sink.writePlain(name, tensor);
                r = new TensorResult(name, info.dtype(), info.shape(), null, skip, info.byteSize(), tensor.byteSize(),
                        Double.NaN, System.nanoTime() - t0);
            } else {
                String key = FusedGroups.keyOf(name);
                Float amax = key == null ? null : groupAmax.get(key);
                double sqnr;
                long outBytes;
                // the quantized tensors are written before the next weight is read: free them right after
                try (Arena arena = Arena.ofConfined()) {
                    CompressedLinear q = quantizer.quantize(tensor, amax == null ? Float.NaN : amax, arena);
                    sqnr = options.measureError() ? quantizer.sqnr(tensor, q) : Double.NaN;
                    outBytes = sink.writeLinear(name, q);
                }
                r = new TensorResult(name, info.dtype(), info.shape(), "compressed-tensors " + quantizer.scheme()
                        .format(), null, info.byteSize(), outBytes, sqnr, System.nanoTime() - t0);
            }
            results.add(r);
            listener.tensorFinished(i, r);
        }
        QuantReport report = new QuantReport("compressed-tensors " + quantizer.scheme().cliName(), results,
                System.nanoTime() - start);
        sink.commit(report);
        listener.runFinished(report);
        return report;
    }

    /** Name → why it stays in high precision, for every tensor that is not quantized. */
    static Map<String, String> decide(ShardedCheckpoint source, CtQuantizer quantizer, ModuleSelector selector) {
        Map<String, String> skips = new HashMap<>();
        List<String> candidates = new ArrayList<>();
        for (String name : source.names()) {
            TensorInfo info = source.info(name);
            String skip = selector.skipReason(name, info.shape());
            if (skip == null) skip = quantizer.skipReason(info.shape(), info.dtype());
            if (skip != null) skips.put(name, skip);
            else candidates.add(name);
        }
        // a fused group is quantized only as a whole
        List<String> fusedMembers = new ArrayList<>();
        for (String name : source.names()) {
            if (FusedGroups.keyOf(name) != null) fusedMembers.add(name);
        }
        for (List<String> members : FusedGroups.of(fusedMembers).values()) {
            String kept = members.stream().filter(skips::containsKey).findFirst().orElse(null);
            if (kept == null) continue;
            for (String m : members) {
                skips.putIfAbsent(m, "fused with '" + kept + "', which is kept in high precision ("
                        + skips.get(kept) + "); vLLM needs one scheme per fused layer");
            }
        }
        return skips;
    }

    /** Fused group key → max |w| over its quantized members (the pre-pass for a shared NVFP4 global scale). */
    private static Map<String, Float> groupAmax(ShardedCheckpoint source, CtQuantizer quantizer,
                                                Map<String, String> skips) {
        Map<String, Float> amax = new HashMap<>();
        for (String name : source.names()) {
            String key = FusedGroups.keyOf(name);
            if (key == null || skips.containsKey(name)) continue;
            float a = quantizer.amax(source.tensor(name));
            amax.merge(key, a, (x, y) -> Float.isNaN(x) || Float.isNaN(y) ? Float.NaN : Math.max(x, y));
        }
        return amax;
    }
}
