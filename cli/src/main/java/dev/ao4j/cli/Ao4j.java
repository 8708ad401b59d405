package dev.ao4j.cli;

import dev.ao4j.hub.HubClient;
import dev.ao4j.hub.HubConfig;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

/** The {@code ao4j} command line: quantize, sparsify, inspect and benchmark models. */
@Command(name = "ao4j", mixinStandardHelpOptions = true, versionProvider = Ao4j.Version.class,
        description = "TorchAO-exact model quantization for the JVM.",
        subcommands = {QuantizeCommand.class, SparsifyCommand.class, InspectCommand.class, BenchCommand.class,
                BenchPipelineCommand.class, ValidateCommand.class, PullCommand.class, PushCommand.class, CommandLine.HelpCommand.class})
public final class Ao4j {
    /** The environment the Hub settings come from (HF_ENDPOINT, HF_TOKEN, HF_HOME, ...). */
    private final Map<String, String> env;

    private Ao4j(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this; only {@link #main} exits). */
    public static int run(String... args) {
        return execute(new CommandLine(new Ao4j(System.getenv())), args);
    }

    /** Like {@link #run(String...)}, with the command's output and error streams given (tests capture them). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(out, err, System.getenv(), args);
    }

    /** Like {@link #run(PrintWriter, PrintWriter, String...)} with the Hub settings read from {@code env}. */
    public static int run(PrintWriter out, PrintWriter err, Map<String, String> env, String... args) {
        CommandLine cli = new CommandLine(new Ao4j(env));
        cli.setOut(out);
        cli.setErr(err);
        return execute(cli, args);
    }

    private static int execute(CommandLine cli, String... args) {
        cli.setExecutionExceptionHandler(ExitCodes::handle);
        try {
            return cli.execute(args);
        } finally {
            // picocli's default writers flush on println/printf only; main() exits right after this returns
            cli.getOut().flush();
            cli.getErr().flush();
        }
    }

    /** A Hub client configured from the environment {@code spec}'s command line was started with. */
    static HubClient hubClient(CommandSpec spec) {
        Ao4j root = (Ao4j) spec.root().userObject();
        return HubClient.builder().config(HubConfig.fromEnvironment(root.env)).build();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Ao4j.class.getPackage().getImplementationVersion();
            return new String[] {"ao4j " + (v == null ? "development build" : v)};
        }
    }
}
