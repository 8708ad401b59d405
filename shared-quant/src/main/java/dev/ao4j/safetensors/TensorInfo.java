package dev.ao4j.safetensors;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;

/**
 * One validated header entry. {@code begin}/{@code end} are byte offsets relative to the start of the data
 * buffer (the byte after the header), as in the file.
 *
 * <p>{@code shape} is the shape the {@link dev.ao4j.quant.tensor.Tensor} view gets. It equals the header's shape
 * for every dtype except packed fp4: safetensors records {@code F4} with its logical element count, while
 * {@link DType#F4_E2M1X2} (like torch's {@code float4_e2m1fn_x2}) counts packed bytes, so the last dimension is
 * half the header's.
 */
public record TensorInfo(String name, DType dtype, Shape shape, long begin, long end) {
    public long byteSize() {
        return end - begin;
    }
}
