package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.tensor.Shape;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which weights a recipe quantizes, by the rules transformers' TorchAO integration applies to a checkpoint: every
 * Linear weight (a 2-D {@code <module>.weight}) is quantized, except the input/output embeddings ({@code lm_head},
 * {@code embed_tokens}, ...) unless {@code includeEmbeddings}, and modules listed in {@code modulesToNotConvert}
 * (an entry matches a module when it equals the module name, is one of its dotted components' suffixes, or —
 * prefixed with {@code re:} — a regex that fully matches it).
 */
public record ModuleSelector(List<String> modulesToNotConvert, boolean includeEmbeddings) {
    private static final Pattern EMBEDDING = Pattern.compile(
            "(^|\\.)(lm_head|embed_tokens|embed_in|embed_out|wte|wpe|word_embeddings|position_embeddings|"
                    + "token_type_embeddings|tok_embeddings|output|shared)$");

    public ModuleSelector {
        modulesToNotConvert = List.copyOf(modulesToNotConvert);
    }

    public static ModuleSelector defaults() {
        return new ModuleSelector(List.of(), false);
    }

    /** Why {@code tensorName} is kept in high precision, or null when it is a Linear weight to quantize. */
    public String skipReason(String tensorName, Shape shape) {
        if (!tensorName.endsWith(".weight")) return "not a weight";
        if (shape.rank() != 2) return "not a Linear weight (rank " + shape.rank() + ")";
        String module = tensorName.substring(0, tensorName.length() - ".weight".length());
        if (!includeEmbeddings && EMBEDDING.matcher(module).find()) return "input/output embedding";
        for (String entry : modulesToNotConvert) {
            if (matches(entry, module)) return "in modules_to_not_convert ('" + entry + "')";
        }
        return null;
    }

    private static boolean matches(String entry, String module) {
        if (entry.startsWith("re:")) return Pattern.compile(entry.substring(3)).matcher(module).matches();
        return module.equals(entry) || module.endsWith("." + entry) || module.startsWith(entry + ".")
                || module.contains("." + entry + ".");
    }
}
