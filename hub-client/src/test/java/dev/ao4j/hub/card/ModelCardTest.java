package dev.ao4j.hub.card;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The card of a quantized derivative, from a real int4wo-128 package's report (copied into test resources). */
class ModelCardTest {
    private static final Path PACKAGE = Path.of("src/test/resources/card-package");

    @TempDir
    Path tmp;

    @Test
    void quantizedCardLinksTheBaseCarriesItsLicenseAndStatesTheNumbers() {
        Map<String, Object> base = ModelCard.parse("""
                ---
                license: llama3.1
                language:
                - en
                - de
                pipeline_tag: text-generation
                tags: [facebook, llama]
                extra_gated_fields:
                  Country: country
                ---
                # Llama
                """);
        assertEquals(Map.of("license", "llama3.1", "language", List.of("en", "de"), "pipeline_tag", "text-generation",
                "tags", List.of("facebook", "llama")), base, "nested maps are skipped");

        ModelCard card = ModelCard.forQuantized("meta-llama/Llama-3.1-8B", base, PACKAGE);
        String md = card.toMarkdown();

        assertTrue(md.startsWith("""
                ---
                base_model: meta-llama/Llama-3.1-8B
                base_model_relation: quantized
                library_name: transformers
                license: llama3.1
                language:
                - en
                - de
                pipeline_tag: text-generation
                tags:
                - ao4j
                - quantized
                - torchao
                - int4wo-128
                ---

                # Llama-3.1-8B (int4wo-128)
                """), md);
        assertTrue(md.contains("`quant_method: \"torchao\"` (`Int4WeightOnlyConfig`)"), md);
        assertTrue(md.contains("| tensors quantized | 28 of 39 |"), md);
        assertTrue(md.contains("| tensor bytes | 1707264 → 2919680 (0.58x) |"), md);
        assertTrue(md.contains("| weight SQNR, dB (min / mean / max) | 23.57 / 23.66 / 23.73 |"), md);
        assertTrue(md.contains("| 0 | 7 | 23.57 | 23.67 | 23.73 |"), md);
        assertTrue(md.contains("| 3 | 7 | 23.64 | 23.68 | 23.73 |"), md);
        assertTrue(md.contains("- 2 tensors: input/output embedding\n- 9 tensors: not a Linear weight (rank 1)\n"), md);
        assertEquals(card.metadata(), ModelCard.parse(md), "the front matter reads back as written");
    }

    @Test
    void writesOnlyWhenThePackageHasNoCardAndQuotesWhatYamlWouldMisread() throws IOException {
        Files.copy(PACKAGE.resolve("ao4j_report.json"), tmp.resolve("ao4j_report.json"));
        ModelCard card = ModelCard.forQuantized(null, Map.of("license", "other", "license_name", "yes",
                "license_link", "https://example.com/l: 1"), tmp);
        assertTrue(card.writeIfAbsent(tmp));
        String md = Files.readString(tmp.resolve("README.md"));
        assertFalse(md.contains("base_model"), md);
        assertTrue(md.contains("license: other\nlicense_name: \"yes\"\nlicense_link: \"https://example.com/l: 1\"\n"), md);
        assertFalse(card.writeIfAbsent(tmp));
        assertEquals(md, Files.readString(tmp.resolve("README.md")));
    }
}
