package dev.ao4j.cli;

import dev.ao4j.hub.CommitInfo;
import dev.ao4j.hub.ConsoleProgress;
import dev.ao4j.hub.HubClient;
import dev.ao4j.hub.HubUploader;
import dev.ao4j.hub.UploadOptions;
import dev.ao4j.hub.card.ModelCard;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "push", mixinStandardHelpOptions = true,
        description = "Upload a package folder to a Hugging Face Hub repository (created if missing) in one commit. "
                + "A package without README.md gets a model card stating its recipe and SQNR (from ao4j_report.json).",
        footer = {"", "Examples:", "  ao4j push out/llama-int4wo me/Llama-3.2-1B-int4wo --base-model meta-llama/Llama-3.2-1B",
                "  ao4j push out/llama-int4wo org/model --create-pr --message 'int4 weights'"})
final class PushCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The folder to upload.")
    Path dir;

    @Parameters(index = "1", paramLabel = "REPO", description = "Repository id, e.g. me/name.")
    String repo;

    @Option(names = "--private", description = "Create the repository private (an existing one keeps its visibility).")
    boolean isPrivate;

    @Option(names = "--create-pr", description = "Open a pull request instead of committing to the branch.")
    boolean createPr;

    @Option(names = "--message", paramLabel = "M", description = "Commit title (default: 'Upload <DIR> with ao4j').")
    String message;

    @Option(names = "--revision", paramLabel = "BRANCH", defaultValue = "main",
            description = "Branch to commit to, or the pull request's base (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--base-model", paramLabel = "REPO",
            description = "Hub id of the model the package was quantized from, for the generated card (license and "
                    + "language are taken from its card).")
    String baseModel;

    @Option(names = "--workers", defaultValue = "5", description = "Uploads in flight, files and parts (default: ${DEFAULT-VALUE}).")
    int workers;

    @Override
    public Integer call() {
        if (!Files.isDirectory(dir)) throw new InvalidConfigException("no such folder", Where.file(dir));
        try (HubClient client = Ao4j.hubClient(spec)) {
            push(client, dir, repo, new Settings(baseModel, isPrivate, createPr, message, revision, workers),
                    spec.commandLine().getOut(), spec.commandLine().getErr());
            return 0;
        }
    }

    /** How a folder is pushed (see the options of {@code ao4j push}). */
    record Settings(String baseModel, boolean isPrivate, boolean createPr, String message, String revision,
                    int workers) {
        Settings {
            if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1 but was " + workers);
        }
    }

    /**
     * Creates {@code repo} if missing, writes a model card into {@code dir} when it has none but has an ao4j report,
     * uploads the folder in one commit and prints the commit (or pull request) URL on {@code out}.
     */
    static CommitInfo push(HubClient client, Path dir, String repo, Settings s, PrintWriter out, PrintWriter err) {
        ConsoleProgress progress = new ConsoleProgress(err, System.console() != null, "uploaded");
        if (!Files.exists(dir.resolve(ModelCard.FILE_NAME)) && Files.isRegularFile(dir.resolve("ao4j_report.json"))) {
            Map<String, Object> baseCard = s.baseModel() == null ? Map.of()
                    : client.modelInfo(s.baseModel(), "main").cardData();
            ModelCard.forQuantized(s.baseModel(), baseCard, dir).writeIfAbsent(dir);
            err.println("wrote " + dir.resolve(ModelCard.FILE_NAME));
        }
        HubUploader uploader = new HubUploader(client);
        uploader.createRepo(repo, s.isPrivate(), true);
        String summary = s.message() != null ? s.message()
                : "Upload " + dir.toAbsolutePath().normalize().getFileName() + " with ao4j";
        CommitInfo c = uploader.uploadFolder(dir, repo, UploadOptions.of(summary).withRevision(s.revision())
                .withCreatePr(s.createPr()).withWorkers(s.workers()).withListener(progress));
        progress.close();
        if (!c.committed()) {
            out.println("nothing to commit: " + repo + " already has these files at " + c.commitOid());
        } else {
            out.println(c.pullRequestUrl() != null ? c.pullRequestUrl() : c.commitUrl() != null ? c.commitUrl()
                    : c.commitOid());
        }
        return c;
    }
}
