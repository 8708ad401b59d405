package dev.ao4j.vllm.serve;

import dev.ao4j.vllm.validate.Engine;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The command that starts a serving engine on a model directory, as an argument vector (no shell involved) and as
 * the one line a user pastes into a shell.
 *
 * @param engine what it launches
 * @param argv   program and arguments; an element equal to {@link #SCRIPT_MODEL_DIR} stands for the model directory
 *               in {@link ServeScript} (it is written as a quoted shell variable there)
 */
public record LaunchCommand(Engine engine, List<String> argv) {
    /** The model directory inside serve.sh, resolved from the script's own location. */
    public static final String SCRIPT_MODEL_DIR = "${MODEL_DIR}";
    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    public LaunchCommand {
        if (argv.isEmpty()) throw new IllegalArgumentException("a launch command needs a program");
        argv = List.copyOf(argv);
    }

    /** The command as one POSIX shell line, every argument quoted where the shell would otherwise change it. */
    public String shellLine() {
        StringBuilder sb = new StringBuilder();
        for (String arg : argv) {
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(shellQuote(arg));
        }
        return sb.toString();
    }

    static String shellQuote(String arg) {
        if (arg.equals(SCRIPT_MODEL_DIR)) return "\"" + SCRIPT_MODEL_DIR + "\"";
        if (SHELL_SAFE.matcher(arg).matches()) return arg;
        return "'" + arg.replace("'", "'\\''") + "'";
    }
}
