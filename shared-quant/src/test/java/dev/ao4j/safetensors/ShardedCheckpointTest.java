package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedCheckpointTest {
    @TempDir
    Path dir;

    /** 40, 40, 100, 8, 8 bytes: with a 64-byte limit the shards are [b.w] [a.w] [big] [z, é]. */
    private static Map<String, Tensor> fiveTensors() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("b.w", StFiles.random(DType.F32, Shape.of(10), 1));
        m.put("a.w", StFiles.random(DType.BF16, Shape.of(4, 5), 2));
        m.put("big", StFiles.random(DType.U8, Shape.of(100), 3));
        m.put("z", StFiles.random(DType.I64, Shape.of(1), 4));
        m.put("é", StFiles.random(DType.F64, Shape.of(), 5));
        return m;
    }

    private static List<Path> write(Path out, long max, Map<String, Tensor> tensors) {
        try (ShardedWriter w = ShardedWriter.create(out, max, Map.of("format", "pt"))) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) w.add(e.getKey(), e.getValue());
            assertEquals(tensors.values().stream().mapToLong(Tensor::byteSize).sum(), w.bytesWritten());
            return w.commit();
        }
    }

    @Test
    void shardedWriteReadRoundTripAndIndexContent() throws Exception {
        Map<String, Tensor> in = fiveTensors();
        List<Path> out = write(dir, 64, in);
        String[] shards = {"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
            "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"};
        assertEquals(List.of(dir.resolve(shards[0]), dir.resolve(shards[1]), dir.resolve(shards[2]),
                dir.resolve(shards[3]), dir.resolve("model.safetensors.index.json")), out);
        assertArrayEquals(new String[] {shards[0], shards[1], shards[2], shards[3], "model.safetensors.index.json"},
                StFiles.listing(dir), "no temporaries left behind");

        // byte-for-byte what transformers writes: json.dumps(index, indent=2, sort_keys=True) + "\n"
        String expectedIndex = """
                {
                  "metadata": {
                    "total_size": 196
                  },
                  "weight_map": {
                    "a.w": "model-00002-of-00004.safetensors",
                    "b.w": "model-00001-of-00004.safetensors",
                    "big": "model-00003-of-00004.safetensors",
                    "z": "model-00004-of-00004.safetensors",
                    "\\u00e9": "model-00004-of-00004.safetensors"
                  }
                }
                """;
        assertEquals(expectedIndex, Files.readString(dir.resolve("model.safetensors.index.json")));

        try (SafetensorsFile s4 = SafetensorsFile.open(dir.resolve(shards[3]))) {
            assertEquals(List.of("z", "é"), s4.names());
            assertEquals(Map.of("format", "pt"), s4.metadata());
        }
        for (Path p : List.of(dir, dir.resolve("model.safetensors.index.json"))) {
            try (ShardedCheckpoint ck = ShardedCheckpoint.open(p)) {
                assertTrue(ck.isSharded());
                assertEquals(List.of("b.w", "a.w", "big", "z", "é"), ck.names());
                for (Map.Entry<String, Tensor> e : in.entrySet()) {
                    assertTrue(ck.tensor(e.getKey()).contentEquals(e.getValue()), e.getKey());
                    assertEquals(e.getValue().shape(), ck.info(e.getKey()).shape());
                }
                assertEquals(dir.resolve(shards[2]).toAbsolutePath(), ck.fileOf("big"));
                assertEquals(Map.of("format", "pt"), ck.metadata());
                assertTrue(ck.conflictingMetadataKeys().isEmpty());
                assertEquals(OptionalLong.of(196), ck.indexTotalSize());
                assertEquals(196, ck.dataSize());
                assertEquals(4, ck.shards().size());
                MalformedInputException e = assertThrows(MalformedInputException.class, () -> ck.tensor("nope"));
                assertTrue(e.getMessage().contains("tensor 'nope'"), e.getMessage());
            }
        }
    }

    @Test
    void metadataGivenAtCommitGoesIntoEveryShard() throws Exception {
        Map<String, String> finalMd = new LinkedHashMap<>();
        finalMd.put("tensor_names", "[\"b.w\", \"a.w\", \"big\", \"z\", \"\u00e9\"]");
        finalMd.put("format", "pt");
        try (ShardedWriter w = ShardedWriter.create(dir, 64, Map.of("early", "x"))) {
            for (Map.Entry<String, Tensor> e : fiveTensors().entrySet()) w.add(e.getKey(), e.getValue());
            w.commit(finalMd);
        }
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertEquals(4, ck.shards().size());
            for (SafetensorsFile f : ck.shards()) assertEquals(finalMd, f.metadata(), f.path().toString());
            assertTrue(ck.conflictingMetadataKeys().isEmpty());
        }
    }

    @Test
    void oneShardIsPlainModelSafetensorsWithoutIndexAndReplacesStaleOutputs() throws Exception {
        Files.writeString(dir.resolve("model-00001-of-00002.safetensors"), "stale");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "stale");
        Files.writeString(dir.resolve("config.json"), "{}");
        Map<String, Tensor> in = fiveTensors();
        List<Path> out = write(dir, 1 << 20, in);
        assertEquals(List.of(dir.resolve("model.safetensors")), out);
        assertArrayEquals(new String[] {"config.json", "model.safetensors"}, StFiles.listing(dir));
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertFalse(ck.isSharded());
            assertEquals(List.copyOf(in.keySet()), ck.names());
            assertTrue(ck.tensor("é").contentEquals(in.get("é")));
            assertEquals(OptionalLong.empty(), ck.indexTotalSize());
        }
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir.resolve("model.safetensors"))) {
            assertEquals(5, ck.names().size());
        }
        // and a sharded rewrite removes the now-stale single file, which transformers would load first
        write(dir, 64, in);
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertEquals(6, StFiles.listing(dir).length);
    }

    @Test
    void tensorLargerThanTheLimitGetsItsOwnShard() throws Exception {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a", StFiles.random(DType.U8, Shape.of(10), 1));
        in.put("huge", StFiles.random(DType.U8, Shape.of(1000), 2));
        in.put("b", StFiles.random(DType.U8, Shape.of(10), 3));
        in.put("c", StFiles.random(DType.U8, Shape.of(0), 4));
        write(dir, 100, in);
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertEquals(3, ck.shards().size());
            assertEquals(List.of("huge"), ck.shards().get(1).names());
            assertEquals(List.of("b", "c"), ck.shards().get(2).names());
        }
    }

    @Test
    void emptyCheckpointIsOneEmptyFile() throws Exception {
        List<Path> out;
        try (ShardedWriter w = ShardedWriter.create(dir, 10, Map.of())) {
            out = w.commit();
        }
        assertEquals(List.of(dir.resolve("model.safetensors")), out);
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertTrue(ck.names().isEmpty());
        }
    }

    @Test
    void abandonedOrFailedShardedWriteLeavesEarlierOutputUntouched() throws Exception {
        Files.writeString(dir.resolve("model.safetensors"), "old");
        Arena arena = Arena.ofConfined();
        Tensor dead = new Tensor(DType.U8, Shape.of(8), arena.allocate(8));
        arena.close();
        try (ShardedWriter w = ShardedWriter.create(dir, 64, Map.of())) {
            for (Map.Entry<String, Tensor> e : fiveTensors().entrySet()) w.add(e.getKey(), e.getValue());
            assertThrows(IllegalStateException.class, () -> w.add("dead", dead));
            IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                    () -> w.add("big", StFiles.random(DType.U8, Shape.of(1), 0)));
            assertTrue(dup.getMessage().contains("tensor 'big'"), dup.getMessage());
            assertTrue(StFiles.listing(dir).length > 1, "finished shards wait under temporary names");
        }
        assertArrayEquals(new String[] {"model.safetensors"}, StFiles.listing(dir));
        assertEquals("old", Files.readString(dir.resolve("model.safetensors")));
    }

    @Test
    void mergedMetadataReportsKeysThatDifferBetweenShards() throws Exception {
        SafetensorsWriter.write(dir.resolve("s1.safetensors"), Map.of("x", StFiles.random(DType.U8, Shape.of(2), 1)),
                Map.of("format", "pt", "tensor_names", "[\"x\"]"));
        SafetensorsWriter.write(dir.resolve("s2.safetensors"), Map.of("y", StFiles.random(DType.U8, Shape.of(2), 1)),
                Map.of("format", "pt", "tensor_names", "[\"y\"]", "extra", "1"));
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"y\": \"s2.safetensors\", \"x\": \"s1.safetensors\"}}");
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertEquals(List.of("x", "y"), ck.names());
            assertEquals(Map.of("format", "pt", "tensor_names", "[\"x\"]", "extra", "1"), ck.metadata());
            assertEquals(Set.of("tensor_names"), ck.conflictingMetadataKeys());
            assertEquals(OptionalLong.empty(), ck.indexTotalSize());
        }
    }

    @Test
    void pythonKeyOrderIsByCodePoint() {
        // U+FFFD sorts before U+1F600 in Python; UTF-16 order (String.compareTo) says the opposite
        assertTrue(dev.ao4j.quant.json.PythonJsonText.compareKeys("\uFFFD", "\uD83D\uDE00") < 0);
        assertTrue("\uFFFD".compareTo("\uD83D\uDE00") > 0);
        assertTrue(dev.ao4j.quant.json.PythonJsonText.compareKeys("a", "ab") < 0);
        assertEquals(0, dev.ao4j.quant.json.PythonJsonText.compareKeys("x.y", "x.y"));
        StringBuilder sb = new StringBuilder();
        dev.ao4j.quant.json.PythonJsonText.appendQuoted(sb, "q\"\\\n\t\u0001\u007f\uD83D\uDE00");
        assertEquals("\"q\\\"\\\\\\n\\t\\u0001\\u007f\\ud83d\\ude00\"", sb.toString());
    }

    // ---- index validation -------------------------------------------------------------------------------

    private void shard(String file, String... names) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : names) m.put(n, StFiles.random(DType.F32, Shape.of(2), n.hashCode()));
        SafetensorsWriter.write(dir.resolve(file), m, Map.of());
    }

    private MalformedInputException badIndex(String weightMapJson) throws Exception {
        Path idx = dir.resolve("model.safetensors.index.json");
        Files.writeString(idx, "{\"metadata\": {\"total_size\": 8}, \"weight_map\": " + weightMapJson + "}");
        return assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(dir).close());
    }

    private static void assertSays(MalformedInputException e, String... fragments) {
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "<" + f + "> missing in: " + e.getMessage());
    }

    @Test
    void indexNamesAMissingFile() throws Exception {
        shard("a.safetensors", "x");
        assertSays(badIndex("{\"x\": \"a.safetensors\", \"y\": \"gone.safetensors\"}"),
                "model.safetensors.index.json", "tensor 'y'", "gone.safetensors", "does not exist");
    }

    @Test
    void indexPutsATensorInTheWrongShard() throws Exception {
        shard("a.safetensors", "x");
        shard("b.safetensors", "y");
        assertSays(badIndex("{\"x\": \"b.safetensors\", \"y\": \"a.safetensors\"}"),
                "a.safetensors", "tensor 'x'", "index.json maps it to b.safetensors");
        assertSays(badIndex("{\"x\": \"b.safetensors\", \"y\": \"b.safetensors\"}"),
                "tensor 'x'", "maps this tensor to b.safetensors but that shard does not contain it");
    }

    @Test
    void tensorInTwoShards() throws Exception {
        shard("a.safetensors", "x");
        shard("b.safetensors", "x", "y");
        assertSays(badIndex("{\"x\": \"a.safetensors\", \"y\": \"b.safetensors\"}"),
                "b.safetensors", "tensor 'x'", "in two shards: a.safetensors and b.safetensors");
    }

    @Test
    void shardHoldsAnUnlistedTensor() throws Exception {
        shard("a.safetensors", "x", "w");
        assertSays(badIndex("{\"x\": \"a.safetensors\"}"),
                "a.safetensors", "tensor 'w'", "does not list in weight_map");
    }

    @Test
    void shardPathMustStayInsideTheDirectory() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("ck"));
        shard("outside.safetensors", "x");
        Files.writeString(sub.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"x\": \"../outside.safetensors\"}}");
        MalformedInputException e = assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(sub));
        assertSays(e, "tensor 'x'", "must be a relative path inside");
    }

    @Test
    void malformedIndexJson() throws Exception {
        shard("a.safetensors", "x");
        assertSays(badIndex("[\"a.safetensors\"]"), "field 'weight_map'", "must be an object", "ARRAY");
        assertSays(badIndex("{\"x\": 3}"), "tensor 'x'", "must be a file name string");
        Path idx = dir.resolve("model.safetensors.index.json");
        Files.writeString(idx, "{\"metadata\": {}}");
        assertSays(assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(dir)),
                "missing 'weight_map'");
        Files.writeString(idx, "{\"weight_map\": {\"x\": \"a.safetensors\", \"x\": \"a.safetensors\"}}");
        assertSays(assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(dir)),
                "invalid JSON in index", "Duplicate");
        Files.writeString(idx, "{\"metadata\": {\"total_size\": -1}, \"weight_map\": {}}");
        assertSays(assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(dir)),
                "field 'metadata.total_size'", "non-negative integer");
        Files.writeString(idx, "{\"weight_map\": {}} {}");
        assertSays(assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(dir)),
                "not a single JSON value");
    }

    @Test
    void directoryWithoutCheckpoint() {
        MalformedInputException e = assertThrows(MalformedInputException.class, () -> ShardedCheckpoint.open(dir));
        assertSays(e, dir.toString(), "neither model.safetensors nor model.safetensors.index.json");
    }
}
