package dev.ao4j.quant.numerics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.tensor.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockLayoutTest {
    private static final Shape W = Shape.of(256, 512);

    @Test
    void blockSizeForEachGranularityMatchesTorchaoGetBlockSize() {
        assertEquals(Shape.of(256, 512), BlockLayout.blockSizeFor(W, new Granularity.PerTensor()));
        assertEquals(Shape.of(1, 512), BlockLayout.blockSizeFor(W, new Granularity.PerRow()));
        assertEquals(Shape.of(256, 1), BlockLayout.blockSizeFor(W, new Granularity.PerRow(0)));
        assertEquals(Shape.of(1, 512), BlockLayout.blockSizeFor(W, new Granularity.PerAxis(0)));
        assertEquals(Shape.of(1, 32), BlockLayout.blockSizeFor(W, new Granularity.PerGroup(32)));
        assertEquals(Shape.of(1, 1, 128), BlockLayout.blockSizeFor(Shape.of(2, 4, 256),
                new Granularity.PerGroup(128)));
        assertEquals(Shape.of(1, 128, 128), BlockLayout.blockSizeFor(Shape.of(2, 256, 256),
                new Granularity.PerBlock(List.of(128, 128))));
        assertEquals(Shape.of(128, 128), BlockLayout.blockSizeFor(W, new Granularity.PerBlock(List.of(128, 128))));
        assertEquals(Shape.of(1, 1, 128), BlockLayout.blockSizeFor(Shape.of(2, 3, 256),
                new Granularity.PerBlock(List.of(1, 128))));
        var b = assertThrows(InvalidConfigException.class,
                () -> BlockLayout.blockSizeFor(Shape.of(100, 512), new Granularity.PerBlock(List.of(128, 128))));
        assertTrue(b.getMessage().contains("block_size[0] = 128 must divide dim 100"), b.getMessage());
        var e = assertThrows(InvalidConfigException.class,
                () -> BlockLayout.blockSizeFor(W, new Granularity.PerGroup(48)));
        assertEquals("PerGroup.groupSize 48 must divide the last dim of shape [256, 512]", e.getMessage());
        assertThrows(InvalidConfigException.class, () -> BlockLayout.blockSizeFor(W, new Granularity.PerRow(2)));
    }

    @Test
    void scaleShapesWithAndWithoutKeepdim() {
        assertEquals(Shape.of(), new BlockLayout(W, Shape.of(256, 512)).reducedShape());
        assertEquals(Shape.of(1, 1), new BlockLayout(W, Shape.of(256, 512)).grid());
        assertEquals(Shape.of(256), new BlockLayout(W, Shape.of(1, 512)).reducedShape());
        assertEquals(Shape.of(256, 1), new BlockLayout(W, Shape.of(1, 512)).grid());
        assertEquals(Shape.of(256, 16), new BlockLayout(W, Shape.of(1, 32)).reducedShape());
        assertEquals(Shape.of(2, 4), new BlockLayout(W, Shape.of(128, 128)).reducedShape());
        // a size-1 dim with block 1 is kept, as torch's reduction keeps it
        assertEquals(Shape.of(1, 4), new BlockLayout(Shape.of(1, 512), Shape.of(1, 128)).reducedShape());
    }

    @Test
    void segmentsMapToRowMajorBlocks() {
        BlockLayout l = new BlockLayout(Shape.of(4, 6, 8), Shape.of(2, 3, 4));
        assertEquals(Shape.of(2, 2, 2), l.grid());
        assertEquals(24, l.rows());
        assertEquals(2, l.segmentsPerRow());
        assertEquals(4, l.segmentLength());
        // row r = i * 6 + j lies in blocks [(i / 2) * 4 + (j / 3) * 2, +1]
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 6; j++) assertEquals((i / 2) * 4 + (j / 3) * 2, l.firstBlockOfRow(i * 6 + j));
        }
    }

    @Test
    void scaleShapeImpliesTheBlocks() {
        assertEquals(Shape.of(128, 128), BlockLayout.fromScale(W, Shape.of(2, 4)).blockSize());
        assertEquals(Shape.of(1, 512), BlockLayout.fromScale(W, Shape.of(256, 1)).blockSize());
        // one element broadcasts, whatever its rank
        assertEquals(W, BlockLayout.fromScale(W, Shape.of()).blockSize());
        assertEquals(W, BlockLayout.fromScale(W, Shape.of(1, 1, 1)).blockSize());
        var e = assertThrows(InvalidConfigException.class, () -> BlockLayout.fromScale(W, Shape.of(3, 1)));
        assertTrue(e.getMessage().contains("does not tile"), e.getMessage());
        assertThrows(InvalidConfigException.class, () -> BlockLayout.fromScale(W, Shape.of(256)));
    }

    @Test
    void aScalarIsOneBlockOfOneElement() {
        BlockLayout l = new BlockLayout(Shape.of(), Shape.of());
        assertEquals(1, l.numBlocks());
        assertEquals(1, l.rows());
        assertEquals(1, l.segmentLength());
        assertEquals(1, l.segmentsPerRow());
        assertEquals(0, l.firstBlockOfRow(0));
        assertEquals(Shape.of(), l.grid());
        assertThrows(InvalidConfigException.class, () -> new BlockLayout(Shape.of(), Shape.of(1)));
    }

    @Test
    void rejectsBlocksThatDoNotTile() {
        assertThrows(InvalidConfigException.class, () -> new BlockLayout(W, Shape.of(1, 3)));
        assertThrows(InvalidConfigException.class, () -> new BlockLayout(W, Shape.of(1, 1024)));
        assertThrows(InvalidConfigException.class, () -> new BlockLayout(W, Shape.of(512)));
        assertThrows(InvalidConfigException.class, () -> new BlockLayout(Shape.of(0, 4), Shape.of(1, 4)));
    }
}
