package dev.ao4j.transformers.pack;

import dev.ao4j.quant.sparsity.SparsifyReport;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** {@code ao4j_report.json} of a 2:4 pruning run: per tensor, its sparsity and SQNR against the source, or why kept. */
final class SparsifyReportJson {
    private static final JsonMapper MAPPER = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private SparsifyReportJson() {}

    static String toJson(SparsifyReport r) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("transform", SparsifyReport.TRANSFORM);
        root.put("tie_rule", r.ties().name());
        root.put("tensors_total", r.tensors().size());
        root.put("tensors_pruned", r.prunedCount());
        root.put("bytes", r.bytes());
        root.put("seconds", r.nanos() / 1e9);
        ArrayNode list = root.putArray("tensors");
        for (SparsifyReport.Entry t : r.tensors()) {
            ObjectNode o = list.addObject();
            o.put("name", t.name());
            o.put("dtype", t.dtype().torchName());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape().dims()) shape.add(d);
            if (t.pruned()) {
                o.put("sparsity", t.sparsity());
                o.put("zeros", t.zeros());
                if (Double.isFinite(t.sqnrDb())) o.put("sqnr_db", Math.round(t.sqnrDb() * 1000) / 1000.0);
                else if (!Double.isNaN(t.sqnrDb())) o.put("sqnr_db", "inf");
            } else {
                o.put("kept_because", t.skipReason());
            }
            o.put("bytes", t.bytes());
        }
        return MAPPER.writeValueAsString(root) + "\n";
    }
}
