package dev.ao4j.quant;

/**
 * Root of ao4j's unchecked exceptions. Each carries a {@link Where} that {@link #getMessage()} appends, so a
 * message always says which file, tensor, JSON path or byte offset it is about.
 */
public class Ao4jException extends RuntimeException {
    private final String originalMessage;
    private final Where where;

    public Ao4jException(String message, Where where) {
        this(message, where, null);
    }

    public Ao4jException(String message, Where where, Throwable cause) {
        super(compose(message, where), cause);
        this.originalMessage = message;
        this.where = where == null ? Where.NOWHERE : where;
    }

    /** The message without the location. */
    public String originalMessage() {
        return originalMessage;
    }

    public Where where() {
        return where;
    }

    private static String compose(String message, Where where) {
        return where == null || where.isEmpty() ? message : where + ": " + message;
    }
}
