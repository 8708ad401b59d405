package dev.ao4j.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ao4j} command line: quantize, sparsify, inspect and benchmark models. */
@Command(name = "ao4j", mixinStandardHelpOptions = true, versionProvider = Ao4j.Version.class,
        description = "TorchAO-exact model quantization for the JVM.",
        subcommands = {QuantizeCommand.class, SparsifyCommand.class, InspectCommand.class, BenchCommand.class,
                BenchPipelineCommand.class, ValidateCommand.class, PullCommand.class, PushCommand.class, CommandLine.HelpCommand.class})
public final class Ao4j {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this; only {@link #main} exits). */
    public static int run(String... args) {
        return execute(new CommandLine(new Ao4j()), args);
    }

    /** Like {@link #run(String...)}, with the command's output and error streams given (tests capture them). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Ao4j());
        cli.setOut(out);
        cli.setErr(err);
        return execute(cli, args);
    }

    private static int execute(CommandLine cli, String... args) {
        cli.setExecutionExceptionHandler(ExitCodes::handle);
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Ao4j.class.getPackage().getImplementationVersion();
            return new String[] {"ao4j " + (v == null ? "development build" : v)};
        }
    }
}
