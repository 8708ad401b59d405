package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * torchao {@code Int4TilePackedTo4dTensor} (Int4WeightOnlyConfig, packing "tile_packed_to_4d", tinygemm).
 * qdata int32 [N'/8, K'/(8*16), 32, 4] in tinygemm's tile order (K padded to a multiple of 1024, N to the
 * ntile); scale_and_zero bf16 [K'/g, N', 2] with [..,0] = scale, [..,1] = float zero point.
 */
public record Int4TilePackedTo4dTensor(Tensor qdata, Tensor scaleAndZero, Shape blockSize, Shape shape)
        implements QuantizedTensor {
    @Override
    public String typeName() {
        return "Int4TilePackedTo4dTensor";
    }

    @Override
    public DType originalDtype() {
        return scaleAndZero.dtype();
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("qdata", qdata), new Part("scale_and_zero", scaleAndZero));
    }
}
