package dev.ao4j.quant.sparsity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sparse24QuantizerTest {
    private static Tensor randomBf16(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.allocate(DType.BF16, Shape.of(rows, cols));
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) rnd.nextGaussian() * 0.05f);
        return t;
    }

    @Test
    void prunesThenQuantizesAndDequantizedPrunedPositionsAreZero() {
        WeightQuantizer int8 = WeightQuantizers.forConfig(Recipes.config("int8wo"), DivMode.CUDA_RECIPROCAL,
                Kernel.REFERENCE);
        Sparse24Quantizer q = new Sparse24Quantizer(int8, TopkTies.CUDA_LOWEST_INDEX);
        Tensor w = randomBf16(16, 64, 7);
        Tensor mask = Sparse24.magnitudeMask(w, TopkTies.CUDA_LOWEST_INDEX);
        Tensor deq = q.dequantize(q.quantize(w));
        Tensor direct = int8.dequantize(int8.quantize(Sparse24.prune(w, TopkTies.CUDA_LOWEST_INDEX)));
        long zeros = 0;
        for (long i = 0; i < w.numel(); i++) {
            assertEquals(direct.getFloat(i), deq.getFloat(i), "element " + i);
            if (mask.getByte(i) == 0) {
                assertEquals(0f, deq.getFloat(i), "pruned element " + i);
                zeros++;
            }
        }
        assertEquals(w.numel() / 2, zeros);
    }

    @Test
    void weightsWhoseKIsNotAMultipleOfFourAreKeptWithAReason() {
        WeightQuantizer int8 = WeightQuantizers.forConfig(Recipes.config("int8wo"), DivMode.TRUE_DIV, Kernel.REFERENCE);
        Sparse24Quantizer q = new Sparse24Quantizer(int8, TopkTies.CPU_INTROSELECT);
        assertNull(q.skipReason(Shape.of(8, 64), DType.BF16));
        assertTrue(q.skipReason(Shape.of(8, 66), DType.BF16).contains("K divisible by 4"));
    }

    @Test
    void recipeNames() {
        assertInstanceOf(Int4WeightOnlyConfig.class, Recipes.config("sparse24+int4wo-128"));
        assertEquals(Recipes.config("int4wo-128"), Recipes.config("sparse24+int4wo-128"));
        assertEquals("fp8dq-row", Recipes.withoutSparse24("sparse24+fp8dq-row"));
        assertThrows(InvalidConfigException.class, () -> Recipes.config("sparse24+"));
        assertThrows(InvalidConfigException.class, () -> Recipes.withoutSparse24("int8wo"));
        assertThrows(InvalidConfigException.class, () -> Recipes.config("sparse24+nope"));
    }
}
