package dev.ao4j.quant.cuda;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;

/** A CUDA driver call or kernel failed; the backend falls back to the CPU when it sees one. */
public final class CudaFailure extends Ao4jException {
    public CudaFailure(String message, Throwable cause) {
        super(message, Where.NOWHERE, cause);
    }
}
