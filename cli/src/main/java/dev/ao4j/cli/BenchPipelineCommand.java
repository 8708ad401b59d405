package dev.ao4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Backend;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.ReadAhead;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.TensorResult;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.TorchAoPackageWriter;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import dev.ao4j.vllm.validate.Engine;
import dev.ao4j.vllm.validate.GpuArch;
import dev.ao4j.vllm.validate.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench-pipeline", mixinStandardHelpOptions = true,
        description = {"End-to-end quantize time and peak memory on a synthetic Llama-shaped bf16 checkpoint (or a "
                + "given model): read, quantize, write the package. Memory is the peak anonymous RSS of this process "
                + "(heap + native buffers; mapped file pages excluded), sampled every 5 ms and after every tensor.",
                ""},
        footer = {"", "Example (two Llama-3-8B layers, 1 GiB heap, source read from disk, not from the page cache):",
                "  AO4J_JAVA_OPTS=-Xmx1g ao4j bench-pipeline --layers 2 --recipe int8wo --recipe int4wo-128 --cold"})
final class BenchPipelineCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Quantize this model instead of a synthetic one.")
    Path model;

    @Option(names = "--recipe", paramLabel = "RECIPE",
            description = "Recipes (default, when no --serving is given either: int8wo, int4wo-128, fp8dq-row).")
    List<String> recipes = new ArrayList<>();

    @Option(names = "--serving", paramLabel = "FORMAT:SCHEME",
            description = "vLLM packages, validated as ao4j quantize --target vllm does (tp 1, sm90), e.g. "
                    + "compressed-tensors:w4a16, gptq:w4a16, awq:w4a16, fp8:fp8-block. Repeatable.")
    List<String> serving = new ArrayList<>();

    @Option(names = "--hidden", defaultValue = "4096") int hidden;
    @Option(names = "--intermediate", defaultValue = "14336") int intermediate;
    @Option(names = "--layers", defaultValue = "2") int layers;
    @Option(names = "--heads", defaultValue = "32") int heads;
    @Option(names = "--kv-heads", defaultValue = "8") int kvHeads;
    @Option(names = "--vocab", defaultValue = "128256") int vocab;

    @Option(names = "--overlap", paramLabel = "serial|write-behind|write-behind-no-read-ahead",
            description = "Recipe rows: write-behind writes tensor i while tensor i+1 is read ahead and quantized, as "
                    + "ao4j quantize does (the default); serial does one tensor at a time; write-behind-no-read-ahead "
                    + "leaves the read to the quantizer's page faults. Repeat to run each recipe in each mode, in "
                    + "the order given, in this one process (a ratio within one process is the fair comparison).")
    List<String> overlaps = new ArrayList<>();

    @Option(names = "--cold", description = "Before each run, drop the source model's files from the page cache "
            + "(posix_fadvise DONTNEED, no root needed; Linux), so that the run reads them from the disk. Says on "
            + "stderr how much of the source stayed cached, and fails if the kernel refuses.")
    boolean cold;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Where recipe rows quantize, as ao4j quantize --device (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Where the synthetic model and packages go "
            + "(default: a temporary directory, removed afterwards).")
    Path workDir;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Mode> modes = (overlaps.isEmpty() ? List.of("write-behind") : overlaps).stream().map(Mode::parse).toList();
        Backend backend = Backend.parse(device);
        boolean temporary = workDir == null;
        Path work = temporary ? Files.createTempDirectory("ao4j-bench-") : Files.createDirectories(workDir);
        try {
            Path source = model;
            if (source == null) {
                SyntheticModel m = new SyntheticModel(hidden, intermediate, layers, heads, kvHeads, vocab);
                source = work.resolve("synthetic");
                long t0 = System.nanoTime();
                m.write(source, 1);
                out.printf(Locale.ROOT, "# synthetic Llama: hidden %d, intermediate %d, %d layers, vocab %d: %s bf16,"
                        + " written in %.1f s%n", hidden, intermediate, layers, vocab, Sizes.human(m.bytes()),
                        (System.nanoTime() - t0) / 1e9);
            }
            ModelConfig config = ModelConfig.read(source.resolve(ModelConfig.FILE_NAME));
            long largest;
            try (ShardedCheckpoint ck = ShardedCheckpoint.open(source)) {
                largest = ck.names().stream().mapToLong(n -> ck.info(n).byteSize()).max().orElse(0);
            }
            out.printf(Locale.ROOT, "# largest tensor %s; max heap %s; %s, %d cpus%n", Sizes.human(largest),
                    Sizes.human(Runtime.getRuntime().maxMemory()), System.getProperty("java.vm.version"),
                    Runtime.getRuntime().availableProcessors());
            out.printf(Locale.ROOT, "# overlap %s; device %s; %s%n",
                    String.join(", ", modes.stream().map(Mode::name).toList()), backend.name().toLowerCase(Locale.ROOT),
                    cold ? "cold: the source's page cache dropped before each run" : "page cache as it is");
            out.println("| recipe | model | seconds | GB/s of input | peak anon RSS | peak / largest tensor |");
            out.println("|---|---:|---:|---:|---:|---:|");
            boolean defaults = recipes.isEmpty() && serving.isEmpty();
            for (String recipe : defaults ? List.of("int8wo", "int4wo-128", "fp8dq-row") : recipes) {
                QuantConfig qc = Recipes.config(recipe);
                Recipe r = new Recipe(recipe, qc, ModuleSelector.defaults(),
                        WeightQuantizers.forConfig(qc, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR, backend), false, null);
                Path outDir = work.resolve("out-" + recipe);
                for (Mode mode : modes) {
                    String label = modes.size() == 1 ? recipe : recipe + "/" + mode.name();
                    if (cold) evict(err, label, source);
                    QuantReport report;
                    PeakAnon peak = new PeakAnon();
                    try (peak;
                         ShardedCheckpoint ck = ShardedCheckpoint.open(source);
                         TorchAoPackageWriter sink = TorchAoPackageWriter.create(source, config,
                                 TorchAoQuantizationConfig.of(qc), outDir, 5_000_000_000L, true)) {
                        report = Quantizer.quantize(ck, r, sink, peak, mode.overlap(), mode.readAhead());
                    }
                    printRow(out, label, report, peak, largest);
                    deleteTree(outDir);
                }
            }
            for (String spec : serving) {
                String[] fs = spec.split(":", 2);
                if (fs.length != 2) {
                    throw new InvalidConfigException("--serving takes FORMAT:SCHEME, e.g. gptq:w4a16, but was '" + spec
                            + "'");
                }
                Path outDir = work.resolve("out-" + fs[0] + "-" + fs[1]);
                if (cold) evict(err, spec, source);
                QuantReport report;
                PeakAnon peak = new PeakAnon();
                try (peak) {
                    report = ServingPackaging.write(source, outDir, new ServingPackaging.Request(
                            new Target(Engine.VLLM, 1, GpuArch.SM90), fs[0], fs[1], null, false, List.of(),
                            DivMode.CUDA_RECIPROCAL, 5_000_000_000L, true, false, peak)).report();
                }
                printRow(out, spec, report, peak, largest);
                deleteTree(outDir);
            }
        } finally {
            if (temporary) deleteTree(work);
        }
        return 0;
    }

    private static void printRow(PrintWriter out, String what, QuantReport report, PeakAnon peak, long largest) {
        double s = report.nanos() / 1e9;
        out.printf(Locale.ROOT, "| %s | %s | %.2f | %.3f | %s | %.2f |%n", what, Sizes.human(report.inputBytes()), s,
                report.inputBytes() / 1e9 / s, Sizes.human(peak.max()), (double) peak.max() / largest);
        out.flush();
    }

    /** One {@code --overlap} value: how the pipeline overlaps writes and reads. */
    private record Mode(String name, Quantizer.Overlap overlap, ReadAhead readAhead) {
        static Mode parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "serial" -> new Mode("serial", Quantizer.Overlap.SERIAL, ReadAhead.NONE);
                case "write-behind" -> new Mode("write-behind", Quantizer.Overlap.WRITE_BEHIND, ReadAhead.PAGE_CACHE);
                case "write-behind-no-read-ahead" -> new Mode("write-behind-no-read-ahead",
                        Quantizer.Overlap.WRITE_BEHIND, ReadAhead.NONE);
                default -> throw new InvalidConfigException("--overlap must be serial, write-behind or "
                        + "write-behind-no-read-ahead but was '" + s + "'");
            };
        }
    }

    /** {@code --cold}: drops the source's files from the page cache and says on stderr how much stayed. */
    private static void evict(PrintWriter err, String run, Path source) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(source)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        long bytes = 0;
        long before = 0;
        long after = 0;
        for (Path f : files) {
            bytes += Files.size(f);
            before += PageCache.residentBytes(f);
            PageCache.evict(f);
            after += PageCache.residentBytes(f);
        }
        err.printf(Locale.ROOT, "# --cold, %s: %d source files, %s; in the page cache before %s, after %s%n", run,
                files.size(), Sizes.human(bytes), Sizes.human(before), Sizes.human(after));
        if (after > 0) {
            // e.g. a tmpfs (its pages are the files themselves) or pages another process has mapped or locked
            err.printf(Locale.ROOT, "# --cold, %s: the kernel kept %s of the source in memory (%s filesystem), so "
                    + "this run is not entirely cold%n", run, Sizes.human(after), Files.getFileStore(source).type());
        }
        err.flush();
    }

    /**
     * The page cache of one file, through libc (FFM): {@code posix_fadvise(POSIX_FADV_DONTNEED)} after an
     * {@code fdatasync} (dirty pages are not dropped), and {@code mincore} on a fresh mapping to count what is
     * cached. Neither needs root; both are Linux calls.
     */
    static final class PageCache {
        private static final int O_RDONLY = 0;
        private static final int POSIX_FADV_DONTNEED = 4;
        private static final int SC_PAGESIZE = 30;
        private static final Linker LINKER = Linker.nativeLinker();
        private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
        private static final MethodHandle OPEN = libc("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT), Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
        private static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        private static final MethodHandle FDATASYNC = libc("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT),
                CAPTURE_ERRNO);
        private static final MethodHandle FADVISE = libc("posix_fadvise", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_INT));
        private static final MethodHandle MINCORE = libc("mincore", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG,
                ADDRESS), CAPTURE_ERRNO);
        private static final MethodHandle SYSCONF = libc("sysconf", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        private static final MethodHandle STRERROR = libc("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

        private PageCache() {}

        private static MethodHandle libc(String name, FunctionDescriptor fd, Linker.Option... options) {
            return LINKER.defaultLookup().find(name).map(a -> LINKER.downcallHandle(a, fd, options))
                    .orElseThrow(() -> new UnsupportedOperationException("--cold needs libc's " + name
                            + ", which this platform's C library does not have (Linux only)"));
        }

        /** Drops {@code file}'s clean pages from the page cache (all of them, once written back). */
        static void evict(Path file) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(CALL_STATE);
                int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(file.toString()), O_RDONLY, 0);
                if (fd < 0) throw failure("open", file, errno(state));
                try {
                    if ((int) FDATASYNC.invokeExact(state, fd) != 0) throw failure("fdatasync", file, errno(state));
                    int rc = (int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_DONTNEED); // returns the error number
                    if (rc != 0) throw failure("posix_fadvise(POSIX_FADV_DONTNEED)", file, rc);
                } finally {
                    int ignored = (int) CLOSE.invokeExact(fd); // read-only: nothing to lose on close
                }
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("calling libc for " + file, t);
            }
        }

        /** How many of {@code file}'s bytes are in the page cache now ({@code mincore}, whole pages). */
        static long residentBytes(Path file) throws IOException {
            try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size == 0) return 0;
                long page = (long) SYSCONF.invokeExact(SC_PAGESIZE);
                MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena); // mapping touches nothing
                long pages = (size + page - 1) / page;
                MemorySegment vec = arena.allocate(pages);
                MemorySegment state = arena.allocate(CALL_STATE);
                if ((int) MINCORE.invokeExact(state, map, size, vec) != 0) throw failure("mincore", file, errno(state));
                long resident = 0;
                for (long i = 0; i < pages; i++) {
                    if ((vec.get(JAVA_BYTE, i) & 1) != 0) resident += Math.min(page, size - i * page);
                }
                return resident;
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("calling libc for " + file, t);
            }
        }

        private static int errno(MemorySegment state) {
            return (int) ERRNO.get(state, 0L);
        }

        private static IOException failure(String call, Path file, int errno) throws Throwable {
            MemorySegment msg = (MemorySegment) STRERROR.invokeExact(errno);
            return new IOException("--cold: " + call + " on " + file + " failed: " + msg.reinterpret(4096).getString(0)
                    + " (errno " + errno + "); the page cache was not dropped, so the run would not be cold");
        }
    }

    /**
     * Peak RssAnon from /proc/self/status (Linux), sampled every 5 ms on a daemon thread and after every tensor:
     * with write-behind the peak falls while a tensor is quantized and the one before it is written.
     */
    static final class PeakAnon implements QuantListener, AutoCloseable {
        private final AtomicLong max = new AtomicLong();
        private final Thread sampler;

        PeakAnon() {
            sample(); // here, so that an unreadable /proc fails the command rather than the sampler thread
            sampler = Thread.ofPlatform().daemon().name("ao4j-rss-sampler").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    sample();
                    LockSupport.parkNanos(5_000_000);
                }
            });
        }

        long max() {
            return max.get();
        }

        @Override
        public void tensorFinished(int index, TensorResult result) {
            sample();
        }

        private void sample() {
            max.accumulateAndGet(rssAnon(), Math::max);
        }

        /** Stops the sampler and takes a last sample. */
        @Override
        public void close() {
            sampler.interrupt();
            boolean interrupted = false;
            while (sampler.isAlive()) {
                try {
                    sampler.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            sample();
        }

        static long rssAnon() {
            try (Stream<String> lines = Files.lines(Path.of("/proc/self/status"))) {
                return lines.filter(l -> l.startsWith("RssAnon:")).findFirst()
                        .map(l -> Long.parseLong(l.replaceAll("\\D+", "")) * 1024).orElse(-1L);
            } catch (IOException e) {
                throw new InvalidConfigException("bench-pipeline measures memory from /proc/self/status, which is "
                        + "not readable here: " + e.getMessage());
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }
}
