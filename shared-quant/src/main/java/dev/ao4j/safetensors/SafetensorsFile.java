package dev.ao4j.safetensors;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.json.JsonMapper;

/**
 * A read-only, memory-mapped safetensors file. The whole header is validated in {@link #open} (the same rules as
 * the upstream Rust crate, plus duplicate-name detection), so every later {@link #tensor} call is a plain slice
 * of the mapping. Views returned by {@link #tensor} share the mapping and become unusable after {@link #close}.
 *
 * <p>The mapping uses a shared arena so that views can be read from several threads; files larger than 2 GiB
 * work because all offsets are {@code long} and the mapping is a {@link MemorySegment}.
 */
public final class SafetensorsFile implements AutoCloseable {
    static final String METADATA_KEY = "__metadata__";

    // Our own ReadLimits bound the header size; Jackson's default string/name caps (20M/50k) would otherwise
    // reject legal headers with their own less helpful messages.
    static final JsonMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxStringLength(Integer.MAX_VALUE)
                            .maxNameLength(Integer.MAX_VALUE)
                            .maxDocumentLength(-1)
                            .build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            // values are read one at a time from a shared parser; parseHeader checks for trailing content itself
            .disable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    // The header's top level is scanned property by property so that a duplicate tensor name is reported with
    // its name; nested objects (entries, __metadata__) still fail on duplicates via FAIL_ON_READING_DUP_TREE_KEY.
    private static final ObjectReader HEADER_READER =
            MAPPER.reader().without(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final long headerBytes;
    private final Map<String, TensorInfo> infos; // in data-offset order
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, long headerBytes,
                            Map<String, TensorInfo> infos, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.headerBytes = headerBytes;
        this.infos = infos;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        return open(path, ReadLimits.defaults());
    }

    /**
     * Validate the header of {@code path} and map its data buffer.
     *
     * @throws MalformedInputException    the file breaks the format (message names file, tensor and field)
     * @throws UnsupportedFormatException a tensor has a dtype ao4j does not know
     * @throws UncheckedIOException       the file cannot be read
     */
    public static SafetensorsFile open(Path path, ReadLimits limits) {
        Where where = Where.file(path);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new MalformedInputException("file is " + fileSize
                        + " bytes, shorter than the 8-byte header length prefix", where);
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0); // a u64: negative here means >= 2^63
            if (n < 0 || n > limits.maxHeaderBytes()) {
                throw new MalformedInputException("header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + limits.maxHeaderBytes()
                        + " bytes (ReadLimits.maxHeaderBytes)", where.withOffset(0));
            }
            if (n > fileSize - 8) {
                throw new MalformedInputException("header length " + n + " exceeds the " + (fileSize - 8)
                        + " bytes that follow the length prefix (file is " + fileSize + " bytes)",
                        where.withOffset(0));
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) n);
            readFully(ch, headerBuf, 8);
            long dataStart = 8 + n;
            long dataSize = fileSize - dataStart;
            Header header = parseHeader(path, headerBuf.array(), dataSize, limits);

            Arena arena = Arena.ofShared();
            try {
                MemorySegment data = dataSize == 0
                        ? MemorySegment.ofArray(new byte[0])
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataSize, arena);
                return new SafetensorsFile(path, arena, data, n, header.infos, header.metadata);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read safetensors file " + path + ": " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new IOException("unexpected end of file at byte " + pos);
            pos += r;
        }
    }

    record Header(Map<String, TensorInfo> infos, Map<String, String> metadata) {}

    /**
     * Parse and validate header bytes against a data buffer of {@code dataSize} bytes. Package-private so the
     * sharded reader and tests can reuse it.
     */
    static Header parseHeader(Path path, byte[] headerBytes, long dataSize, ReadLimits limits) {
        Where where = Where.file(path);
        String json = decodeUtf8(headerBytes, where);
        if (json.isEmpty() || json.charAt(0) != '{') {
            throw new MalformedInputException("header does not start with '{' (found "
                    + (json.isEmpty() ? "an empty header" : describeChar(json.charAt(0))) + ")", where.withOffset(8));
        }
        Map<String, String> metadata = Map.of();
        List<TensorInfo> list = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        try (JsonParser p = HEADER_READER.createParser(json)) {
            p.nextToken(); // START_OBJECT: the '{' check above leaves no other valid first token
            while (true) {
                JsonToken t = p.nextToken();
                if (t == JsonToken.END_OBJECT) break; // otherwise the parser guarantees a PROPERTY_NAME
                String name = p.currentName();
                if (!seen.add(name)) {
                    throw new MalformedInputException("duplicate "
                            + (name.equals(METADATA_KEY) ? "__metadata__ entry" : "tensor name") + " in header",
                            name.equals(METADATA_KEY) ? where.withJsonPath(METADATA_KEY) : where.withTensor(name));
                }
                p.nextToken();
                JsonNode value;
                try {
                    value = HEADER_READER.readTree(p);
                } catch (JacksonException e) {
                    throw new MalformedInputException("invalid JSON header: " + e.getOriginalMessage(),
                            name.equals(METADATA_KEY) ? where.withJsonPath(METADATA_KEY) : where.withTensor(name), e);
                }
                if (name.equals(METADATA_KEY)) {
                    metadata = parseMetadata(value, where.withJsonPath(METADATA_KEY));
                    continue;
                }
                if (list.size() >= limits.maxTensors()) {
                    throw new MalformedInputException("header has more than " + limits.maxTensors()
                            + " tensors (ReadLimits.maxTensors)", where.withTensor(name));
                }
                if (name.length() > limits.maxNameLength()) {
                    throw new MalformedInputException("tensor name is " + name.length() + " chars, longer than the "
                            + "limit of " + limits.maxNameLength() + " (ReadLimits.maxNameLength)",
                            where.withTensor(name.substring(0, Math.min(80, name.length())) + "..."));
                }
                list.add(parseEntry(name, value, dataSize, where.withTensor(name)));
            }
            if (p.nextToken() != null) {
                throw new MalformedInputException("invalid JSON header: trailing content after the top-level object",
                        where);
            }
        } catch (JacksonException e) {
            throw new MalformedInputException("invalid JSON header: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (char " + e.getLocation().getCharOffset() + ")"), where, e);
        }
        checkTiling(list, dataSize, where);
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        for (TensorInfo i : list) infos.put(i.name(), i);
        return new Header(Collections.unmodifiableMap(infos), metadata);
    }

    private static String describeChar(char c) {
        return c < 0x20 || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
    }

    private static String decodeUtf8(byte[] bytes, Where where) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = dec.decode(in, out, true);
        if (r.isUnderflow()) r = dec.flush(out);
        if (r.isError()) {
            throw new MalformedInputException("header is not valid UTF-8 (bad byte sequence at header byte "
                    + in.position() + ")", where.withOffset(8 + in.position()));
        }
        return out.flip().toString();
    }

    private static Map<String, String> parseMetadata(JsonNode value, Where where) {
        if (value.isNull()) return Map.of(); // serde reads `null` as an absent Option
        if (!value.isObject()) {
            throw new MalformedInputException("__metadata__ must be a JSON object of strings, found "
                    + value.getNodeType(), where);
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : value.properties()) {
            if (!e.getValue().isString()) {
                throw new MalformedInputException("__metadata__ value for key '" + e.getKey()
                        + "' must be a string, found " + e.getValue().getNodeType(),
                        where.withJsonPath(METADATA_KEY + "." + e.getKey()));
            }
            m.put(e.getKey(), e.getValue().asString());
        }
        return Collections.unmodifiableMap(m);
    }

    private static TensorInfo parseEntry(String name, JsonNode v, long dataSize, Where where) {
        if (!v.isObject()) {
            throw new MalformedInputException("header entry must be an object with dtype, shape and data_offsets, "
                    + "found " + v.getNodeType(), where);
        }
        JsonNode dt = v.get("dtype");
        if (dt == null) throw new MalformedInputException("missing 'dtype'", where.withJsonPath("dtype"));
        if (!dt.isString()) {
            throw new MalformedInputException("'dtype' must be a string, found " + dt.getNodeType(),
                    where.withJsonPath("dtype"));
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensors(dt.asString());
        } catch (UnsupportedFormatException e) {
            throw new UnsupportedFormatException(e.originalMessage(), where.withJsonPath("dtype"), e);
        }
        long[] dims = longArray(v.get("shape"), "shape", -1, where.withJsonPath("shape"));
        long[] off = longArray(v.get("data_offsets"), "data_offsets", 2, where.withJsonPath("data_offsets"));
        long begin = off[0];
        long end = off[1];
        String offStr = "data_offsets [" + begin + ", " + end + "]";

        long bytes;
        Shape shape;
        try {
            long numel = 1;
            for (long d : dims) numel = Math.multiplyExact(numel, d);
            if (dtype == DType.F4_E2M1X2) {
                // Header counts fp4 elements (4 bits each); torch and our Tensor count packed bytes along the
                // last dimension, which therefore must be even.
                if (dims.length == 0 || dims[dims.length - 1] % 2 != 0) {
                    throw new MalformedInputException("F4 tensor shape " + java.util.Arrays.toString(dims)
                            + " must have an even last dimension (two fp4 values per byte)",
                            where.withJsonPath("shape"));
                }
                bytes = numel / 2;
                long[] packed = dims.clone();
                packed[packed.length - 1] /= 2;
                shape = Shape.of(packed);
            } else {
                bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
                shape = Shape.of(dims);
            }
        } catch (ArithmeticException e) {
            throw new MalformedInputException("shape " + java.util.Arrays.toString(dims) + " of dtype "
                    + dtype.safetensorsName() + " overflows a 64-bit byte count", where.withJsonPath("shape"));
        }
        if (begin > end) {
            throw new MalformedInputException(offStr + ": begin is after end", where.withJsonPath("data_offsets"));
        }
        if (end > dataSize) {
            throw new MalformedInputException(offStr + ": end is beyond the data buffer of " + dataSize + " bytes",
                    where.withJsonPath("data_offsets"));
        }
        if (end - begin != bytes) {
            throw new MalformedInputException(offStr + " span " + (end - begin) + " bytes but dtype "
                    + dtype.safetensorsName() + " with shape " + java.util.Arrays.toString(dims) + " needs " + bytes,
                    where.withJsonPath("data_offsets"));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers; {@code expectedLength < 0} means any length. */
    private static long[] longArray(JsonNode node, String field, int expectedLength, Where where) {
        if (node == null) throw new MalformedInputException("missing '" + field + "'", where);
        if (!node.isArray()) {
            throw new MalformedInputException("'" + field + "' must be an array of non-negative integers, found "
                    + node.getNodeType(), where);
        }
        if (expectedLength >= 0 && node.size() != expectedLength) {
            throw new MalformedInputException("'" + field + "' must have " + expectedLength + " elements, found "
                    + node.size() + ": " + node, where);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = node.get(i);
            if (!e.isIntegralNumber()) {
                throw new MalformedInputException("'" + field + "' element " + i + " must be an integer, found "
                        + e.getNodeType() + " " + e, where);
            }
            if (!e.canConvertToLong()) {
                throw new MalformedInputException("'" + field + "' element " + i + " = " + e
                        + " is out of the 64-bit range", where);
            }
            long x = e.longValue();
            if (x < 0) {
                throw new MalformedInputException("'" + field + "' element " + i + " = " + x + " is negative",
                        where);
            }
            out[i] = x;
        }
        return out;
    }

    /** Sorted by (begin, end), the tensors must cover [0, dataSize) exactly once, as the Rust crate requires. */
    private static void checkTiling(List<TensorInfo> list, long dataSize, Where where) {
        list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo prev = null;
        for (TensorInfo i : list) {
            Where w = where.withTensor(i.name()).withJsonPath("data_offsets");
            String offStr = "data_offsets [" + i.begin() + ", " + i.end() + "]";
            if (i.begin() < expected) {
                throw new MalformedInputException(offStr + " overlap tensor '" + prev.name() + "' [" + prev.begin()
                        + ", " + prev.end() + "]", w);
            }
            if (i.begin() > expected) {
                throw new MalformedInputException(offStr + " leave a gap of " + (i.begin() - expected)
                        + " bytes after " + (prev == null ? "the start of the data buffer"
                        : "tensor '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "]"), w);
            }
            expected = i.end();
            prev = i;
        }
        if (expected != dataSize) {
            throw new MalformedInputException("tensors cover " + expected + " bytes of the " + dataSize
                    + "-byte data buffer; the remaining " + (dataSize - expected) + " bytes belong to no tensor"
                    + (prev == null ? "" : " (last tensor '" + prev.name() + "' ends at " + prev.end() + ")"),
                    where.withOffset(8));
        }
    }

    /** Tensor names in data-offset order. */
    public List<String> names() {
        return List.copyOf(infos.keySet());
    }

    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    /** All entries in data-offset order. */
    public List<TensorInfo> infos() {
        return List.copyOf(infos.values());
    }

    public TensorInfo info(String name) {
        TensorInfo i = infos.get(name);
        if (i == null) {
            throw new MalformedInputException("no such tensor (file has " + infos.size() + " tensors)",
                    Where.tensor(path, name));
        }
        return i;
    }

    /** A zero-copy view of tensor {@code name}, valid until {@link #close()}. */
    public Tensor tensor(String name) {
        TensorInfo i = info(name);
        if (!arena.scope().isAlive()) throw new IllegalStateException(path + " is closed");
        return new Tensor(i.dtype(), i.shape(), data.asSlice(i.begin(), i.byteSize()));
    }

    /** The {@code __metadata__} map, empty when the header has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    public Path path() {
        return path;
    }

    /** Size of the data buffer (all tensor bytes), i.e. file size minus 8 minus the header length. */
    public long dataSize() {
        return data.byteSize();
    }

    /** Length of the JSON header in bytes (including padding). */
    public long headerSize() {
        return headerBytes;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + infos.size() + " tensors, " + data.byteSize() + " data bytes]";
    }
}
