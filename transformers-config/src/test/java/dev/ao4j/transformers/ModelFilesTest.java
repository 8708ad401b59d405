package dev.ao4j.transformers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {

    @Test
    void copiesPresentAuxiliaryFilesUnchanged(@TempDir Path src, @TempDir Path parent) throws Exception {
        byte[] tok = {0, 1, 2, (byte) 0xFF, '\n'};
        Files.write(src.resolve("tokenizer.json"), tok);
        Files.writeString(src.resolve("generation_config.json"), "{\"bos_token_id\": 1}\n");
        Files.writeString(src.resolve("chat_template.jinja"), "{{ messages }}");
        Files.writeString(src.resolve("config.json"), "{}");
        Files.writeString(src.resolve("model.safetensors"), "weights");
        Files.writeString(src.resolve("README.md"), "card");
        Files.createDirectories(src.resolve("additional_chat_templates"));
        Files.writeString(src.resolve("additional_chat_templates/tool_use.jinja"), "{{ tools }}");
        Files.writeString(src.resolve("additional_chat_templates/notes.txt"), "skip");
        Files.createSymbolicLink(src.resolve("merges.txt"), src.resolve("README.md"));

        Path dst = parent.resolve("out");
        List<String> copied = ModelFiles.copyAuxiliary(src, dst);
        assertEquals(List.of("tokenizer.json", "merges.txt", "chat_template.jinja", "generation_config.json",
                "additional_chat_templates/tool_use.jinja"), copied);
        assertArrayEquals(tok, Files.readAllBytes(dst.resolve("tokenizer.json")));
        assertEquals("card", Files.readString(dst.resolve("merges.txt")));
        assertFalse(Files.isSymbolicLink(dst.resolve("merges.txt")));
        assertEquals("{{ tools }}", Files.readString(dst.resolve("additional_chat_templates/tool_use.jinja")));
        assertFalse(Files.exists(dst.resolve("config.json")));
        assertFalse(Files.exists(dst.resolve("model.safetensors")));
        assertFalse(Files.exists(dst.resolve("additional_chat_templates/notes.txt")));
        try (var s = Files.list(dst)) {
            assertEquals(5, s.count(), "4 files + 1 directory, no temporaries");
        }
    }

    @Test
    void nothingToCopy(@TempDir Path src, @TempDir Path dst) {
        assertEquals(List.of(), ModelFiles.copyAuxiliary(src, dst));
    }
}
