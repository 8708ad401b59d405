package dev.ao4j.cli;

import dev.ao4j.hub.ConsoleProgress;
import dev.ao4j.hub.HubClient;
import dev.ao4j.hub.SnapshotOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "pull", mixinStandardHelpOptions = true,
        description = "Download a model repository from the Hugging Face Hub into the shared cache (the one Python's "
                + "huggingface_hub uses, HF_HUB_CACHE / HF_HOME) or into a folder, and print where it is.",
        footer = {"", "Examples:", "  ao4j pull meta-llama/Llama-3.2-1B --exclude 'original/*'",
                "  ao4j pull org/model --revision v1.0 --include '*.json' --include '*.safetensors' --local-dir model"})
final class PullCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "REPO", description = "Repository id, e.g. org/name.")
    String repo;

    @Option(names = "--revision", defaultValue = "main", description = "Branch, tag or commit (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--include", paramLabel = "GLOB", description = "Only files matching this glob (repeatable; * crosses '/').")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", paramLabel = "GLOB", description = "Skip files matching this glob (repeatable).")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--local-dir", paramLabel = "DIR",
            description = "Put plain files in DIR (with huggingface_hub's .cache/huggingface metadata) instead of the cache.")
    Path localDir;

    @Option(names = "--workers", defaultValue = "8", description = "Files downloaded at once (default: ${DEFAULT-VALUE}).")
    int workers;

    @Override
    public Integer call() {
        if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1 but was " + workers);
        ConsoleProgress progress = new ConsoleProgress(spec.commandLine().getErr(), System.console() != null, "downloaded");
        try (HubClient client = Ao4j.hubClient(spec)) {
            SnapshotOptions options = SnapshotOptions.defaults().withPatterns(include, exclude).withWorkers(workers)
                    .withLocalDir(localDir).withListener(progress);
            Path dir = client.snapshotDownload(repo, revision, options);
            progress.close();
            spec.commandLine().getOut().println(dir);
            return 0;
        }
    }
}
