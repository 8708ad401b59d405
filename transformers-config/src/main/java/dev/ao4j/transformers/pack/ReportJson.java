package dev.ao4j.transformers.pack;

import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.TensorResult;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.SerializationFeature;

/** {@code ao4j_report.json}: what the run did to each tensor, with its error (SQNR) where measured. */
final class ReportJson {
    private static final JsonMapper MAPPER = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private ReportJson() {}

    static String toJson(QuantReport r) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("recipe", r.recipe());
        root.put("tensors_total", r.tensors().size());
        root.put("tensors_quantized", r.quantizedCount());
        root.put("input_bytes", r.inputBytes());
        root.put("output_bytes", r.outputBytes());
        root.put("seconds", r.nanos() / 1e9);
        ArrayNode list = root.putArray("tensors");
        for (TensorResult t : r.tensors()) {
            ObjectNode o = list.addObject();
            o.put("name", t.name());
            o.put("dtype", t.dtype().torchName());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape().dims()) shape.add(d);
            if (t.quantized()) {
                o.put("quantized_as", t.quantizedAs());
                if (Double.isFinite(t.sqnrDb())) o.put("sqnr_db", Math.round(t.sqnrDb() * 1000) / 1000.0);
                else if (!Double.isNaN(t.sqnrDb())) o.put("sqnr_db", "inf");
            } else {
                o.put("kept_because", t.skipReason());
            }
            o.put("input_bytes", t.inputBytes());
            o.put("output_bytes", t.outputBytes());
        }
        return MAPPER.writeValueAsString(root) + "\n";
    }
}
