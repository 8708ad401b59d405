package dev.ao4j.quant.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.ScalingMode;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** torchao 0.18 defaults and the validation messages of the config records. */
class QuantConfigTest {

    @Test
    void defaultsAreTorchaos() {
        assertEquals(new Int4WeightOnlyConfig(128, true, Int4PackingFormat.PLAIN, Int4ChooseQParamsAlgorithm.TINYGEMM, 8),
                Int4WeightOnlyConfig.defaults());
        assertEquals(new Int8WeightOnlyConfig(new Granularity.PerRow(-1), true), Int8WeightOnlyConfig.defaults());
        assertEquals(new Int8DynamicActivationInt8WeightConfig(MappingType.SYMMETRIC, false,
                List.of(new Granularity.PerRow(-1)), true, false), Int8DynamicActivationInt8WeightConfig.defaults());
        assertEquals(new Int8DynamicActivationIntxWeightConfig(8, new Granularity.PerGroup(32), MappingType.SYMMETRIC,
                null, MappingType.ASYMMETRIC, IntxPackingFormat.UNPACKED_TO_INT8, IntxChooseQParamsAlgorithm.AFFINE),
                Int8DynamicActivationIntxWeightConfig.defaults());
        assertEquals(4, Int8DynamicActivationIntxWeightConfig.of8da4w(32).weightBits());
        assertEquals("int4", Int8DynamicActivationIntxWeightConfig.of8da4w(32).weightDtypeName());
        assertEquals(new Float8WeightOnlyConfig(DType.F8_E4M3, true, new Granularity.PerRow()),
                Float8WeightOnlyConfig.defaults());
        var fp8 = Float8DynamicActivationFloat8WeightConfig.defaults();
        assertEquals(List.of(new Granularity.PerTensor(), new Granularity.PerTensor()), fp8.granularity());
        assertEquals(new Float8MMConfig(false, true, false), fp8.mmConfig());
        assertEquals(KernelPreference.AUTO, fp8.kernelPreference());
        assertEquals(Float8PackingFormat.PLAIN, fp8.packingFormat());
        assertEquals(0, fp8.algId());
    }

    @Test
    void float8GranularityIsNormalizedToAPair() {
        var perRow = Float8DynamicActivationFloat8WeightConfig.defaults().withGranularity(new Granularity.PerRow());
        assertEquals(List.of(new Granularity.PerRow(), new Granularity.PerRow()), perRow.granularity());
        var block = new Float8DynamicActivationFloat8WeightConfig(DType.F8_E4M3, DType.F8_E4M3,
                List.of(new Granularity.PerBlock(List.of(1, 128)), new Granularity.PerBlock(List.of(128, 128))),
                Float8PackingFormat.PLAIN, null, null, null, KernelPreference.AUTO, true, 0);
        assertEquals(new Float8MMConfig(false, false, false), block.mmConfig(), "blockwise: no fast accumulation");
        assertEquals(new Granularity.PerBlock(List.of(128, 128)), block.weightGranularity());
    }

    @Test
    void int8DynamicKeepsTheSpellingOfGranularity() {
        var single = Int8DynamicActivationInt8WeightConfig.defaults().withGranularity(new Granularity.PerTensor());
        assertEquals(1, single.granularity().size());
        var pair = single.withGranularity(new Granularity.PerRow(), new Granularity.PerTensor());
        assertEquals(new Granularity.PerRow(), pair.activationGranularity());
        assertEquals(new Granularity.PerTensor(), pair.weightGranularity());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of((Supplier<?>) () -> Int4WeightOnlyConfig.defaults().withGroupSize(48),
                        "Int4WeightOnlyConfig.groupSize (group_size) must be one of [32, 64, 128, 256] but was 48"),
                Arguments.of((Supplier<?>) () -> Int4WeightOnlyConfig.defaults().withInt4TilePackedNtile(4),
                        "Int4WeightOnlyConfig.int4TilePackedNtile (int4_tile_packed_ntile) must be one of [8, 16] but "
                                + "was 4"),
                Arguments.of((Supplier<?>) () -> Int4WeightOnlyConfig.defaults()
                                .withInt4ChooseQparamsAlgorithm(Int4ChooseQParamsAlgorithm.HQQ),
                        "Int4WeightOnlyConfig.int4PackingFormat (int4_packing_format) must be TILE_PACKED_TO_4D when "
                                + "int4_choose_qparams_algorithm is HQQ but was PLAIN"),
                Arguments.of((Supplier<?>) () -> Int4WeightOnlyConfig.defaults().withInt4PackingFormat(null),
                        "Int4WeightOnlyConfig.int4PackingFormat (int4_packing_format) must be an Int4PackingFormat but "
                                + "was null"),
                Arguments.of((Supplier<?>) () -> Int8WeightOnlyConfig.defaults()
                                .withGranularity(new Granularity.PerAxis(0)),
                        "Int8WeightOnlyConfig.granularity (granularity) must be PerTensor, PerRow or PerGroup but was "
                                + "PerAxis[axis=0]"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationInt8WeightConfig.defaults()
                                .withGranularity(new Granularity.PerRow(0), new Granularity.PerRow()),
                        "Int8DynamicActivationInt8WeightConfig.granularity (granularity) must be PerRow(dim=-1) for "
                                + "activations (per token) but was PerRow[dim=0]"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationInt8WeightConfig.defaults()
                                .withGranularity(new Granularity.PerGroup(32)),
                        "Int8DynamicActivationInt8WeightConfig.granularity (granularity) must be PerTensor or PerRow "
                                + "but was PerGroup[groupSize=32]"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationInt8WeightConfig.defaults()
                                .withActMappingType(MappingType.SYMMETRIC_NO_CLIPPING_ERR),
                        "Int8DynamicActivationInt8WeightConfig.actMappingType (act_mapping_type) must be SYMMETRIC or "
                                + "ASYMMETRIC but was SYMMETRIC_NO_CLIPPING_ERR"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationIntxWeightConfig.defaults().withWeightBits(9),
                        "Int8DynamicActivationIntxWeightConfig.weightBits (weight_dtype) must be torch.int1 .. "
                                + "torch.int8 but was torch.int9"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationIntxWeightConfig.defaults()
                                .withWeightGranularity(new Granularity.PerAxis(1)),
                        "Int8DynamicActivationIntxWeightConfig.weightGranularity (weight_granularity) must be PerGroup "
                                + "or PerAxis(0) but was PerAxis[axis=1]"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationIntxWeightConfig.defaults()
                                .withActMappingType(MappingType.SYMMETRIC),
                        "Int8DynamicActivationIntxWeightConfig.actMappingType (act_mapping_type) must be ASYMMETRIC "
                                + "but was SYMMETRIC"),
                Arguments.of((Supplier<?>) () -> Int8DynamicActivationIntxWeightConfig.defaults()
                                .withWeightScaleDtype(DType.I8),
                        "Int8DynamicActivationIntxWeightConfig.weightScaleDtype (weight_scale_dtype) must be null or "
                                + "one of [BF16, F16, F32] but was I8"),
                Arguments.of((Supplier<?>) () -> Float8WeightOnlyConfig.defaults().withWeightDtype(DType.BF16),
                        "Float8WeightOnlyConfig.weightDtype (weight_dtype) must be one of [F8_E4M3, F8_E5M2] but was "
                                + "BF16"),
                Arguments.of((Supplier<?>) () -> Float8DynamicActivationFloat8WeightConfig.defaults()
                                .withGranularity(new Granularity.PerRow(), new Granularity.PerTensor()),
                        "Float8DynamicActivationFloat8WeightConfig.granularity (granularity) must be one of the pairs "
                                + "[PerTensor, PerTensor], [PerRow, PerRow] or [PerBlock([1, 128]), PerBlock([128, "
                                + "128])] but was [PerRow[dim=-1], PerTensor[]]"),
                Arguments.of((Supplier<?>) () -> Float8DynamicActivationFloat8WeightConfig.defaults()
                                .withGranularity(new Granularity.PerGroup(128)),
                        "Float8DynamicActivationFloat8WeightConfig.granularity (granularity) must be PerTensor or "
                                + "PerRow as a single value but was PerGroup[groupSize=128]"),
                Arguments.of((Supplier<?>) () -> Float8DynamicActivationFloat8WeightConfig.defaults()
                                .withGranularity(Float8DynamicActivationFloat8WeightConfig.BLOCK_1X128,
                                        Float8DynamicActivationFloat8WeightConfig.BLOCK_128X128)
                                .withKernelPreference(KernelPreference.MSLK),
                        "Float8DynamicActivationFloat8WeightConfig.kernelPreference (kernel_preference) must be AUTO "
                                + "or TORCH with the blockwise granularity but was MSLK"),
                Arguments.of((Supplier<?>) () -> Float8DynamicActivationFloat8WeightConfig.defaults()
                                .withActivationValueLb(Double.NaN),
                        "Float8DynamicActivationFloat8WeightConfig.activationValueLb (activation_value_lb) must be "
                                + "null or a number but was NaN"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidValuesNameFieldExpectedAndFound(Supplier<?> make, String message) {
        var e = assertThrows(InvalidConfigException.class, make::get);
        assertEquals(message, e.getMessage());
    }

    @Test
    void wireValuesRoundTrip() {
        for (Int4PackingFormat f : Int4PackingFormat.values()) assertEquals(f, Int4PackingFormat.fromWire(f.wireValue()));
        for (IntxPackingFormat f : IntxPackingFormat.values()) assertEquals(f, IntxPackingFormat.fromWire(f.wireValue()));
        for (Float8PackingFormat f : Float8PackingFormat.values()) {
            assertEquals(f, Float8PackingFormat.fromWire(f.wireValue()));
        }
        for (KernelPreference k : KernelPreference.values()) assertEquals(k, KernelPreference.fromWire(k.wireValue()));
        assertEquals("tile_packed_to_4d", Int4PackingFormat.TILE_PACKED_TO_4D.wireValue());
        assertEquals("hqq_scale_only", IntxChooseQParamsAlgorithm.HQQ_SCALE_ONLY.wireValue());
        var e = assertThrows(InvalidConfigException.class, () -> Int4ChooseQParamsAlgorithm.fromWire("TINYGEMM"));
        assertEquals("unknown Int4ChooseQParamsAlgorithm value 'TINYGEMM'; legal values: [tinygemm, hqq]",
                e.getMessage());
    }

    @Test
    void everyPermitHasDefaults() throws Exception {
        for (Class<?> c : QuantConfig.class.getPermittedSubclasses()) {
            Object d = c.getMethod("defaults").invoke(null);
            assertEquals(c, d.getClass());
            assertEquals(c.getSimpleName(), ((QuantConfig) d).torchaoName());
            // torchao 0.18 still writes its prototype MX / NVFP4 configs as version 1
            boolean prototype = d instanceof MXDynamicActivationMXWeightConfig || d instanceof NVFP4WeightOnlyConfig;
            assertEquals(prototype ? 1 : 2, ((QuantConfig) d).torchaoVersion(), c.getSimpleName());
        }
        assertEquals(8, Arrays.stream(QuantConfig.class.getPermittedSubclasses()).count());
    }

    @Test
    void mxConfigValidatesBlockSizeAndDtypes() {
        MXDynamicActivationMXWeightConfig d = MXDynamicActivationMXWeightConfig.defaults();
        assertEquals(new MXDynamicActivationMXWeightConfig(32, DType.F8_E4M3, DType.F8_E4M3, KernelPreference.AUTO,
                ScalingMode.RCEIL), d);
        assertEquals(DType.F4_E2M1X2, MXDynamicActivationMXWeightConfig.mxfp4().weightDtype());
        var e = assertThrows(InvalidConfigException.class, () -> new MXDynamicActivationMXWeightConfig(16,
                DType.F8_E4M3, DType.F8_E4M3, KernelPreference.AUTO, ScalingMode.RCEIL));
        assertEquals("MXDynamicActivationMXWeightConfig.blockSize (block_size) must be 32 but was 16", e.getMessage());
        var e2 = assertThrows(InvalidConfigException.class, () -> d.withElementDtype(DType.BF16));
        assertEquals("MXDynamicActivationMXWeightConfig.activationDtype (activation_dtype) must be one of [F8_E4M3, "
                + "F8_E5M2, F4_E2M1X2] but was BF16", e2.getMessage());
        var e3 = assertThrows(InvalidConfigException.class, () -> new MXDynamicActivationMXWeightConfig(32,
                DType.F8_E5M2, DType.F8_E4M3, KernelPreference.AUTO, ScalingMode.RCEIL));
        assertTrue(e3.getMessage().contains("must equal weightDtype"), e3.getMessage());
        assertThrows(InvalidConfigException.class, () -> d.withScalingMode(null));
        for (MxElement m : List.of(MxElement.FP8_E4M3, MxElement.FP8_E5M2, MxElement.FP4_E2M1)) {
            assertEquals(m, MXDynamicActivationMXWeightConfig.element(MXDynamicActivationMXWeightConfig.dtype(m)));
        }
        assertThrows(InvalidConfigException.class, () -> MXDynamicActivationMXWeightConfig.dtype(MxElement.FP6_E2M3));
        assertTrue(NVFP4WeightOnlyConfig.defaults().useDynamicPerTensorScale());
    }
}
