package dev.ao4j.quant.sparsity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Tensor;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden case of family sparse24 (magnitude 2:4 pruning of the random and edge weights, CUTLASS compression)
 * on both devices, bit for bit: mask, pruned weight, compressed values and reordered metadata (and on CUDA torch's
 * own {@code to_sparse_semi_structured} result, which equals the CUTLASS one). The tie rules differ by device
 * ({@link TopkTies}); the golden masks differ in 226 (random) and 2766 (edge) elements between CPU and CUDA. The
 * mask and pruned weight are checked for both {@link Kernel}s.
 */
class Sparse24GoldenTest {
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open("sparse24", "mx_inputs");

    static Stream<Arguments> cases() {
        return GoldenCases.cases("sparse24").stream()
                .flatMap(c -> Arrays.stream(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTorchao(GoldenCases.Case c, Kernel kernel) {
        assertEquals("ok", c.status(), c + " status");
        Tensor w = GOLDEN.input(c.param("input"));
        TopkTies ties = TopkTies.of(c.divMode());
        Tensor pruned = Sparse24.prune(w, ties, kernel);
        GOLDEN.assertOutput(c, "mask", Sparse24.magnitudeMask(w, ties, kernel));
        GOLDEN.assertOutput(c, "pruned", pruned);
        Sparse24.Compressed packed = Sparse24.compress(pruned);
        GOLDEN.assertOutput(c, "cutlass_packed", packed.values());
        GOLDEN.assertOutput(c, "cutlass_meta_reordered", packed.meta());
        if (c.outputs().containsKey("torch_cutlass_meta")) {
            GOLDEN.assertOutput(c, "torch_cutlass_packed", packed.values());
            GOLDEN.assertOutput(c, "torch_cutlass_meta", packed.meta());
        }
        // decompressing gives the pruned weight back (every group has at most two non-zeros), except that a pruned
        // negative weight's -0 comes back as +0: the compressed form does not keep zeros' signs
        Tensor dense = Sparse24.decompress(packed);
        for (long i = 0; i < w.numel(); i++) {
            short want = pruned.data().getAtIndex(Tensor.I16, i);
            short got = dense.data().getAtIndex(Tensor.I16, i);
            assertTrue(want == got || ((want & 0x7FFF) == 0 && got == 0), c + ": decompress(compress(pruned)) differs"
                    + " at " + i + ": 0x" + Integer.toHexString(got & 0xFFFF) + " for 0x" + Integer.toHexString(want & 0xFFFF));
        }
    }
}
