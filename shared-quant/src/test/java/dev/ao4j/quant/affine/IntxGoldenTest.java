package dev.ao4j.quant.affine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden family {@code intx}: Int8DynamicActivationIntxWeightConfig (8da4w sym/asym g32, sym g128; 8da8w per
 * channel, each with the per-token activation quantize-dequantize of act_8x512) and IntxWeightOnlyConfig (int4
 * g32, int8 per channel, int2 g32), on rand_256x512 and edge_64x512, both devices, both kernels.
 */
class IntxGoldenTest {
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open("intx", "affine_inputs");

    static Stream<Arguments> cases() {
        return GoldenCases.cases("intx").stream().flatMap(c -> Stream.of(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    /** Config names as the generator wrote them: "8da4w.sym.g32", "wo.int2.sym.g32", "8da8w.sym.perchannel". */
    record Config(IntxWeightSpec spec, String activationQuantization) {
        static Config parse(String name) {
            String[] p = name.split("\\.");
            int i = 0;
            int bits;
            String act;
            if (p[0].equals("wo")) {
                bits = Integer.parseInt(p[1].substring("int".length()));
                act = null;
                i = 2;
            } else if (p[0].startsWith("8da") && p[0].endsWith("w")) {
                bits = Integer.parseInt(p[0].substring(3, p[0].length() - 1));
                act = IntxQuantizer.INT8_ASYM_PER_TOKEN;
                i = 1;
            } else {
                throw new IllegalArgumentException("unknown intx config " + name);
            }
            MappingType mapping = switch (p[i]) {
                case "sym" -> MappingType.SYMMETRIC;
                case "asym" -> MappingType.ASYMMETRIC;
                default -> throw new IllegalArgumentException("unknown mapping in " + name);
            };
            Granularity g = p[i + 1].equals("perchannel") ? new Granularity.PerAxis(0)
                    : new Granularity.PerGroup(Integer.parseInt(p[i + 1].substring(1)));
            return new Config(new IntxWeightSpec(bits, g, mapping, null), act);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTorchao(GoldenCases.Case c, Kernel kernel) {
        Config cfg = Config.parse(c.param("config"));
        var w = GOLDEN.input(c.param("input"));

        IntxUnpackedToInt8Tensor t = IntxQuantizer.fromHighPrecision(w, cfg.spec(), cfg.activationQuantization(),
                c.divMode(), kernel);
        var info = c.info().get("weight");
        assertEquals("torch.int" + t.bits(), info.get("target_dtype").asString());
        assertEquals(tuple(t.blockSize()), info.get("block_size").asString());
        assertEquals(t.activationQuantization() == null ? "None" : "'" + t.activationQuantization() + "'",
                info.get("activation_quantization").asString());
        GOLDEN.assertOutput(c, "qdata", t.qdata());
        GOLDEN.assertOutput(c, "scale", t.scale());
        GOLDEN.assertOutput(c, "zero_point", t.zeroPoint());
        GOLDEN.assertOutput(c, "dq", IntxQuantizer.dequantize(t));
        if (c.outputs().containsKey("act_qdq")) {
            GOLDEN.assertOutput(c, "act_qdq",
                    IntxQuantizer.int8AsymPerTokenQuantDequant(GOLDEN.input("act_8x512"), c.divMode(), kernel));
        }
    }

    /** Python's repr of a block-size tuple: "(1, 32)". */
    private static String tuple(Shape s) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < s.rank(); i++) sb.append(i == 0 ? "" : ", ").append(s.dim(i));
        return sb.append(')').toString();
    }
}
