package dev.ao4j.safetensors;

/**
 * Bounds applied while reading a safetensors header, so that a hostile or corrupt file cannot make the reader
 * allocate without limit before it has validated anything.
 *
 * @param maxHeaderBytes largest accepted JSON header, in bytes (the Rust crate's limit is 100,000,000)
 * @param maxTensors     largest accepted number of tensor entries in one file
 * @param maxNameLength  longest accepted tensor name, in UTF-16 chars
 */
public record ReadLimits(long maxHeaderBytes, int maxTensors, int maxNameLength) {
    /** Same value as {@code MAX_HEADER_SIZE} in the upstream Rust crate. */
    public static final long DEFAULT_MAX_HEADER_BYTES = 100_000_000L;
    /** Far above any real checkpoint shard (a few thousand tensors), far below what would exhaust memory. */
    public static final int DEFAULT_MAX_TENSORS = 1_000_000;
    /** Hugging Face names are a few hundred chars at most. */
    public static final int DEFAULT_MAX_NAME_LENGTH = 65_536;
    /** The header is read into one Java array, so it cannot be larger than this. */
    public static final long HARD_MAX_HEADER_BYTES = Integer.MAX_VALUE - 16L;

    public ReadLimits {
        if (maxHeaderBytes < 2 || maxHeaderBytes > HARD_MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("ReadLimits.maxHeaderBytes must be in [2, " + HARD_MAX_HEADER_BYTES
                    + "], got " + maxHeaderBytes);
        }
        if (maxTensors < 0) throw new IllegalArgumentException("ReadLimits.maxTensors must be >= 0, got " + maxTensors);
        if (maxNameLength < 0) {
            throw new IllegalArgumentException("ReadLimits.maxNameLength must be >= 0, got " + maxNameLength);
        }
    }

    public static ReadLimits defaults() {
        return new ReadLimits(DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_TENSORS, DEFAULT_MAX_NAME_LENGTH);
    }

    public ReadLimits withMaxHeaderBytes(long v) {
        return new ReadLimits(v, maxTensors, maxNameLength);
    }

    public ReadLimits withMaxTensors(int v) {
        return new ReadLimits(maxHeaderBytes, v, maxNameLength);
    }

    public ReadLimits withMaxNameLength(int v) {
        return new ReadLimits(maxHeaderBytes, maxTensors, v);
    }
}
