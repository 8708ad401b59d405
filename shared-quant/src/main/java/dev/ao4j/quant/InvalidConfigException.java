package dev.ao4j.quant;

/** A quantization config or recipe with invalid values; the message names the field, the expected and the found value. */
public class InvalidConfigException extends Ao4jException {
    public InvalidConfigException(String message, Where where) {
        super(message, where);
    }

    public InvalidConfigException(String message, Where where, Throwable cause) {
        super(message, where, cause);
    }

    public InvalidConfigException(String message) {
        super(message, Where.NOWHERE);
    }
}
