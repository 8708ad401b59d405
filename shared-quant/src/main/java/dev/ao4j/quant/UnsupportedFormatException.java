package dev.ao4j.quant;

/** A well-formed input that ao4j cannot handle (a dtype, layout or config it does not support); the message lists what is supported. */
public class UnsupportedFormatException extends Ao4jException {
    public UnsupportedFormatException(String message, Where where) {
        super(message, where);
    }

    public UnsupportedFormatException(String message, Where where, Throwable cause) {
        super(message, where, cause);
    }

    public UnsupportedFormatException(String message) {
        super(message, Where.NOWHERE);
    }
}
