package dev.ao4j.quant.float8;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * Every ok golden case of family fp8 (wo.*, dq.*, from_hp_torch.*) and every prim.float8.* case, on both devices
 * (cpu → DivMode.TRUE_DIV, cuda → DivMode.CUDA_RECIPROCAL), with both kernels, bit for bit. The fp8 cases are
 * rebuilt from what the manifest records about torchao's Float8Tensor (block_size, mm_config, act_quant_kwargs,
 * kernel_preference), the prim cases call the primitives directly.
 */
class Float8GoldenTest {
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.openWithDigests("fp8_digests.json", "fp8_scales", "fp8_q",
            "fp8_dq", "fp8_extras");

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (GoldenCases.Case c : GoldenCases.cases("fp8_scales")) {
            for (Kernel k : Kernel.values()) out.add(Arguments.of(c, k));
        }
        return out.stream();
    }

    @Test
    void resourcesHoldEveryCaseOnBothDevices() {
        List<GoldenCases.Case> all = GoldenCases.cases("fp8_scales");
        Set<String> cpu = new HashSet<>();
        Set<String> cuda = new HashSet<>();
        for (GoldenCases.Case c : all) (c.device().equals("cpu") ? cpu : cuda).add(c.id());
        assertEquals(cpu, cuda);
        // 17 fp8 cases (wo, dq, from_hp_torch on two inputs) and 21 prim.float8 cases per device
        assertEquals(38, cpu.size());
        JsonNode digests = GoldenCases.json("fp8_digests.json");
        for (GoldenCases.Case c : all) {
            long nonY = c.outputs().keySet().stream().filter(k -> !k.equals("y")).count();
            assertEquals(nonY, digestCount(digests, c), c + ": digests must cover every output but y");
        }
    }

    /** How many outputs of {@code c} fp8_digests.json lists (all but y, whose names have no further dot). */
    private static long digestCount(JsonNode digests, GoldenCases.Case c) {
        String prefix = c.key("");
        long n = 0;
        for (var e : digests.properties()) {
            String k = e.getKey();
            if (k.startsWith(prefix) && !k.substring(prefix.length()).contains(".")) n++;
        }
        return n;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTorchao(GoldenCases.Case c, Kernel kernel) {
        if (c.family().equals("prim")) {
            checkPrimitive(c, kernel);
        } else {
            checkFloat8Tensor(c, kernel);
        }
    }

    private static void checkPrimitive(GoldenCases.Case c, Kernel kernel) {
        Tensor x = GOLDEN.input(c.params().get("input").asString());
        DType fp8 = c.outputs().get("q").dtype();
        Shape block = c.params().has("block_size") ? shape(c.params().get("block_size")) : blockFromId(c.id(), x);
        Float lb = c.params().has("hp_value_lb") ? (float) c.params().get("hp_value_lb").asDouble() : null;
        Tensor scale = Float8Quantizer.chooseScale(x, block, fp8, lb, null, c.divMode(), kernel);
        Tensor q = Float8Quantizer.quantizeWithScale(x, scale, fp8, c.divMode(), kernel);
        int checked = 0;
        for (String name : c.outputs().keySet()) {
            Tensor actual = switch (name) {
                case "scale" -> scale;
                case "q" -> q;
                case "dq" -> Float8Quantizer.dequantize(q, scale, c.outputs().get("dq").dtype(), c.divMode());
                default -> throw new AssertionError(c + ": unexpected output " + name);
            };
            GOLDEN.assertOutput(c, name, actual);
            checked++;
        }
        assertTrue(checked >= 2, c + " checked too few outputs");
    }

    /** prim.float8 ids end in the granularity (tensor, row, b1x128, b128x128), optionally followed by a bound. */
    private static Shape blockFromId(String id, Tensor x) {
        long n = x.shape().dim(0);
        long k = x.shape().dim(1);
        Matcher m = Pattern.compile("\\.(tensor|row|b(\\d+)x(\\d+))(\\.|$)").matcher(id);
        if (!m.find()) throw new AssertionError("no granularity in case id " + id);
        return switch (m.group(1)) {
            case "tensor" -> Shape.of(n, k);
            case "row" -> Shape.of(1L, k);
            default -> Shape.of(Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
        };
    }

    private static void checkFloat8Tensor(GoldenCases.Case c, Kernel kernel) {
        Tensor w = GOLDEN.input(c.params().get("input").asString());
        var info = c.info().get("weight");
        assertEquals("Float8Tensor", info.get("class").asString());
        Shape block = shape(info.get("block_size").asString());
        DType fp8 = c.outputs().get("qdata").dtype();
        Float8MMConfig mm = mmConfig(info.get("mm_config").asString());
        Float8Tensor.ActivationQuant aq = activationQuant(info.get("act_quant_kwargs").asString());
        KernelPreference kp = kernelPreference(info.get("kernel_preference").asString());

        Float8Tensor t = Float8Quantizer.fromHighPrecision(w, Float8Spec.of(fp8, granularity(block, w.shape())), mm,
                aq, kp, c.divMode(), kernel);
        assertEquals(block, t.blockSize(), c + " block_size");
        assertEquals(DType.fromTorch(info.get("dtype").asString()), t.originalDtype(), c + " dtype");

        Float8Tensor act = null;
        if (aq != null) {
            act = Float8Quantizer.quantizeActivation(GOLDEN.input("act_8x512"), aq, c.divMode(), kernel);
        }
        for (String name : c.outputs().keySet()) {
            Tensor actual = switch (name) {
                case "qdata" -> t.qdata();
                case "scale" -> t.scale();
                case "dq" -> Float8Quantizer.dequantize(t, c.divMode());
                case "act_qdata" -> act.qdata();
                case "act_scale" -> act.scale();
                case "y" -> null; // the matmul output is outside the quantizer
                default -> throw new AssertionError(c + ": unexpected output " + name);
            };
            if (actual != null) GOLDEN.assertOutput(c, name, actual);
        }
    }

    private static Granularity granularity(Shape block, Shape shape) {
        if (block.equals(shape)) return new Granularity.PerTensor();
        if (block.dim(0) == 1 && block.dim(1) == shape.dim(1)) return new Granularity.PerRow();
        return new Granularity.PerBlock(List.of((int) block.dim(0), (int) block.dim(1)));
    }

    private static Shape shape(Object listOrString) {
        List<Long> dims = new ArrayList<>();
        if (listOrString instanceof String s) {
            for (String p : s.replaceAll("[\\[\\] ]", "").split(",")) dims.add(Long.parseLong(p));
        } else {
            for (var d : (tools.jackson.databind.JsonNode) listOrString) dims.add(d.asLong());
        }
        return Shape.of(dims.stream().mapToLong(Long::longValue).toArray());
    }

    private static Float8MMConfig mmConfig(String repr) {
        if (repr.equals("None")) return null;
        return new Float8MMConfig(flag(repr, "emulate"), flag(repr, "use_fast_accum"), flag(repr, "pad_inner_dim"));
    }

    private static boolean flag(String repr, String name) {
        Matcher m = Pattern.compile(name + "=(True|False)").matcher(repr);
        if (!m.find()) throw new AssertionError("no " + name + " in " + repr);
        return m.group(1).equals("True");
    }

    private static KernelPreference kernelPreference(String repr) {
        Matcher m = Pattern.compile("KernelPreference\\.(\\w+)").matcher(repr);
        if (!m.find()) throw new AssertionError("no KernelPreference in " + repr);
        return KernelPreference.valueOf(m.group(1));
    }

    /** Parses torchao's QuantizeTensorToFloat8Kwargs repr, e.g. granularity=PerBlock(block_size=[1, 128]). */
    private static Float8Tensor.ActivationQuant activationQuant(String repr) {
        if (repr.equals("None")) return null;
        Matcher dt = Pattern.compile("float8_dtype=torch\\.(\\w+)").matcher(repr);
        if (!dt.find()) throw new AssertionError("no float8_dtype in " + repr);
        Granularity g;
        if (repr.contains("granularity=PerTensor()")) {
            g = new Granularity.PerTensor();
        } else if (repr.contains("granularity=PerRow(dim=-1)")) {
            g = new Granularity.PerRow();
        } else {
            Matcher b = Pattern.compile("granularity=PerBlock\\(block_size=\\[(\\d+), (\\d+)]\\)").matcher(repr);
            if (!b.find()) throw new AssertionError("unknown granularity in " + repr);
            g = new Granularity.PerBlock(List.of(Integer.parseInt(b.group(1)), Integer.parseInt(b.group(2))));
        }
        if (!repr.contains("hp_value_lb=None") || !repr.contains("hp_value_ub=None")) {
            throw new AssertionError("bounds in golden act_quant_kwargs are not handled: " + repr);
        }
        Matcher mm = Pattern.compile("mm_config=(None|Float8MMConfig\\([^)]*\\))").matcher(repr);
        if (!mm.find()) throw new AssertionError("no mm_config in " + repr);
        return new Float8Tensor.ActivationQuant(DType.fromTorch(dt.group(1)), g, mmConfig(mm.group(1)), null, null,
                kernelPreference(repr.substring(repr.indexOf("kernel_preference="))));
    }
}
