package dev.ao4j.hub.card;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Hub model card: {@code README.md} = YAML front matter between {@code ---} lines + Markdown (spec §6).
 *
 * @param metadata front matter keys in order; values are strings, numbers, booleans or lists of those
 * @param body     the Markdown after the front matter
 */
public record ModelCard(Map<String, Object> metadata, String body) {
    public static final String FILE_NAME = "README.md";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern LAYER = Pattern.compile("\\.layers\\.(\\d+)\\.");
    private static final Pattern PLAIN_SCALAR = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_./+-]*");
    private static final List<String> YAML_WORDS = List.of("true", "false", "yes", "no", "on", "off", "null", "y", "n", "~");
    /** Front matter keys a quantized derivative carries over from its base model's card. */
    private static final List<String> INHERITED = List.of("license", "license_name", "license_link", "language", "pipeline_tag");

    public ModelCard {
        metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        Objects.requireNonNull(body, "body");
    }

    /**
     * The card of a package that ao4j quantized from {@code baseModel}: {@code base_model} and
     * {@code base_model_relation: quantized} link it to its parent on the Hub; license, language and pipeline tag
     * come from the base model's card data ({@code RepoInfo.cardData()}, or {@link #parse} of its README); the
     * body states the recipe, the {@code quantization_config} method, and the per-layer SQNR of
     * {@code ao4j_report.json}.
     *
     * @param baseModel    Hub id of the model that was quantized, or null when it is not on the Hub
     * @param baseCardData front matter of the base model's card (empty when unknown)
     * @param packageDir   the ao4j package (reads {@code ao4j_report.json} and {@code config.json})
     */
    public static ModelCard forQuantized(String baseModel, Map<String, ?> baseCardData, Path packageDir) {
        JsonNode report = readJson(packageDir.resolve("ao4j_report.json"));
        Path configFile = packageDir.resolve("config.json");
        JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile) : JSON.createObjectNode();
        String recipe = report.path("recipe").asString("");
        String method = config.path("quantization_config").path("quant_method").asString(null);

        Map<String, Object> meta = new LinkedHashMap<>();
        if (baseModel != null) {
            meta.put("base_model", baseModel);
            meta.put("base_model_relation", "quantized");
        }
        meta.put("library_name", "transformers");
        for (String key : INHERITED) {
            Object v = baseCardData.get(key);
            if (v instanceof String || v instanceof List<?>) meta.put(key, v);
        }
        List<String> tags = new ArrayList<>(List.of("ao4j", "quantized"));
        if ("torchao".equals(method)) tags.add("torchao");
        if (method != null && !tags.contains(method)) tags.add(method);
        if (!recipe.isEmpty()) tags.add(recipe.toLowerCase(Locale.ROOT));
        meta.put("tags", tags);

        return new ModelCard(meta, body(baseModel, recipe, method, config, report));
    }

    private static String body(String baseModel, String recipe, String method, JsonNode config, JsonNode report) {
        StringBuilder b = new StringBuilder();
        String name = baseModel == null ? "this model" : baseModel;
        b.append("# ").append(baseModel == null ? "Quantized model" : baseModel.substring(baseModel.indexOf('/') + 1)
                + " (" + (recipe.isEmpty() ? "quantized" : recipe) + ")").append("\n\n");
        b.append("Quantized from ").append(baseModel == null ? name : "[" + baseModel + "](https://huggingface.co/" + baseModel + ")")
                .append(" with ao4j").append(recipe.isEmpty() ? "" : ", recipe `" + recipe + "`")
                .append(". The numerics are bit-exact to TorchAO 0.18.\n\n");
        if (method != null) {
            b.append("`config.json` carries a `quantization_config` with `quant_method: \"").append(method).append("\"`");
            JsonNode type = config.path("quantization_config").path("quant_type").path("default").path("_type");
            if (type.isString()) b.append(" (`").append(type.asString()).append("`)");
            b.append(", so `transformers` loads it with `AutoModelForCausalLM.from_pretrained`.\n\n");
        }

        List<Double> all = new ArrayList<>();
        Map<Integer, List<Double>> perLayer = new TreeMap<>();
        List<Double> outsideLayers = new ArrayList<>();
        Map<String, Integer> kept = new TreeMap<>();
        for (JsonNode t : report.path("tensors")) {
            if (t.has("quantized_as")) {
                JsonNode s = t.path("sqnr_db");
                double db = s.isNumber() ? s.asDouble() : "inf".equals(s.asString(null)) ? Double.POSITIVE_INFINITY : Double.NaN;
                if (Double.isNaN(db)) continue;
                all.add(db);
                Matcher m = LAYER.matcher("." + t.path("name").asString());
                if (m.find()) perLayer.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new ArrayList<>()).add(db);
                else outsideLayers.add(db);
            } else if (t.has("kept_because")) {
                kept.merge(t.path("kept_because").asString(), 1, Integer::sum);
            }
        }
        b.append("## Quantization report\n\n");
        b.append("| | |\n|---|---|\n");
        b.append("| recipe | `").append(recipe).append("` |\n");
        b.append("| tensors quantized | ").append(report.path("tensors_quantized").asLong()).append(" of ")
                .append(report.path("tensors_total").asLong()).append(" |\n");
        long in = report.path("input_bytes").asLong();
        long out = report.path("output_bytes").asLong();
        b.append("| tensor bytes | ").append(in).append(" → ").append(out);
        if (in > 0 && out > 0) b.append(String.format(Locale.ROOT, " (%.2fx)", (double) in / out));
        b.append(" |\n");
        if (!all.isEmpty()) {
            b.append("| weight SQNR, dB (min / mean / max) | ").append(summary(all)).append(" |\n");
        }
        b.append('\n');
        if (!perLayer.isEmpty()) {
            b.append("Weight SQNR per decoder layer (dB, higher is closer to the original weights):\n\n");
            b.append("| layer | weights | min | mean | max |\n|---:|---:|---:|---:|---:|\n");
            perLayer.forEach((layer, v) -> b.append("| ").append(layer).append(" | ").append(v.size()).append(" | ")
                    .append(summary(v).replace(" / ", " | ")).append(" |\n"));
            if (!outsideLayers.isEmpty()) {
                b.append("| other | ").append(outsideLayers.size()).append(" | ")
                        .append(summary(outsideLayers).replace(" / ", " | ")).append(" |\n");
            }
            b.append('\n');
        }
        if (!kept.isEmpty()) {
            b.append("Kept in the original precision:\n\n");
            kept.forEach((why, n) -> b.append("- ").append(n).append(n == 1 ? " tensor: " : " tensors: ").append(why).append('\n'));
            b.append('\n');
        }
        b.append("The full per-tensor report is `ao4j_report.json` in this repository.\n");
        return b.toString();
    }

    private static String summary(Collection<Double> v) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (double d : v) {
            min = Math.min(min, d);
            max = Math.max(max, d);
            sum += d;
        }
        return fmt(min) + " / " + fmt(sum / v.size()) + " / " + fmt(max);
    }

    private static String fmt(double d) {
        return Double.isInfinite(d) ? "inf" : String.format(Locale.ROOT, "%.2f", d);
    }

    /** The README text: {@code ---}, the front matter as YAML, {@code ---}, a blank line, the body. */
    public String toMarkdown() {
        StringBuilder s = new StringBuilder("---\n");
        metadata.forEach((k, v) -> {
            s.append(k).append(':');
            if (v instanceof List<?> list) {
                if (list.isEmpty()) s.append(" []");
                for (Object o : list) s.append("\n- ").append(scalar(o));
                s.append('\n');
            } else {
                s.append(' ').append(scalar(v)).append('\n');
            }
        });
        return s.append("---\n\n").append(body).toString();
    }

    /** Writes {@code README.md} into {@code dir} (temp name, then rename) unless one is there; true when written. */
    public boolean writeIfAbsent(Path dir) {
        Path target = dir.resolve(FILE_NAME);
        if (Files.exists(target)) return false;
        Path tmp = dir.resolve(FILE_NAME + "." + Integer.toHexString(ThreadLocalRandom.current().nextInt()) + ".tmp");
        try {
            Files.writeString(tmp, toMarkdown(), StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the model card " + target, e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                // the card was written or the error above says why not; a stray temp file is all that is left
            }
        }
    }

    /**
     * The front matter of a README, for a base model that is only on disk. Reads the flat subset that carries
     * what {@link #forQuantized} inherits: {@code key: value}, {@code key: [a, b]} and {@code key:} followed by
     * {@code - item} lines; nested maps are skipped. Empty when the text has no front matter.
     */
    public static Map<String, Object> parse(String readme) {
        Map<String, Object> out = new LinkedHashMap<>();
        String text = readme.replace("\r\n", "\n");
        if (!text.startsWith("---\n")) return out;
        int end = text.indexOf("\n---", 3);
        if (end < 0) return out;
        String currentList = null;
        for (String line : text.substring(4, end + 1).split("\n")) {
            if (line.isBlank() || line.stripLeading().startsWith("#")) continue;
            if (!Character.isWhitespace(line.charAt(0)) && !line.startsWith("-")) {
                currentList = null;
                int colon = line.indexOf(':');
                if (colon <= 0) continue;
                String key = line.substring(0, colon).strip();
                String value = line.substring(colon + 1).strip();
                if (value.isEmpty()) {
                    currentList = key;
                } else if (value.startsWith("[") && value.endsWith("]")) {
                    List<Object> items = new ArrayList<>();
                    for (String item : value.substring(1, value.length() - 1).split(",")) {
                        if (!item.isBlank()) items.add(unquote(item.strip()));
                    }
                    out.put(key, items);
                } else {
                    out.put(key, unquote(value));
                }
            } else if (currentList != null && line.strip().startsWith("- ")) {
                @SuppressWarnings("unchecked")
                List<Object> items = (List<Object>) out.computeIfAbsent(currentList, k -> new ArrayList<>());
                items.add(unquote(line.strip().substring(2).strip()));
            }
        }
        return out;
    }

    private static String unquote(String v) {
        if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
            return v.substring(1, v.length() - 1);
        }
        int comment = v.indexOf(" #");
        return comment >= 0 ? v.substring(0, comment).strip() : v;
    }

    /** A plain YAML scalar when it cannot be misread (as a bool, number, null...), else a JSON-quoted string. */
    private static String scalar(Object v) {
        if (v instanceof Number || v instanceof Boolean) return String.valueOf(v);
        String s = String.valueOf(v);
        boolean plain = PLAIN_SCALAR.matcher(s).matches() && !YAML_WORDS.contains(s.toLowerCase(Locale.ROOT))
                && !s.matches("[0-9+.-][0-9_.eE+-]*");
        return plain ? s : JSON.writeValueAsString(s);
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (JacksonException e) {
            throw new MalformedInputException("not valid JSON: " + e.getOriginalMessage(), Where.file(file));
        }
    }
}
