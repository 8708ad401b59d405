package dev.ao4j.quant;

/** Input bytes or JSON that break a format's rules (truncated file, overlapping offsets, bad JSON). */
public class MalformedInputException extends Ao4jException {
    public MalformedInputException(String message, Where where) {
        super(message, where);
    }

    public MalformedInputException(String message, Where where, Throwable cause) {
        super(message, where, cause);
    }

    public MalformedInputException(String message) {
        super(message, Where.NOWHERE);
    }
}
