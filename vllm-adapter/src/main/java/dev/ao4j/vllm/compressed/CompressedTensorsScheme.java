package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.InvalidConfigException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One compressed-tensors quantization scheme for every Linear layer, as llm-compressor's presets name them.
 *
 * <p>Only schemes that need no calibration data are offered: static activation scales ({@code input_scale},
 * NVFP4 W4A4's {@code input_global_scale}) come from observing activations, which a weight-only converter cannot
 * do, so FP8 per-tensor runs with dynamic per-tensor activations and NVFP4 is the weight-only NVFP4A16.
 *
 * @param preset    the family
 * @param groupSize input columns per scale for the integer weight-only presets ({@link #CHANNEL} = one scale per
 *                  output row); fixed by the format for the others
 * @param symmetric false for an integer weight-only scheme with a zero point ({@code weight_zero_point})
 */
public record CompressedTensorsScheme(Preset preset, int groupSize, boolean symmetric) {
    /** {@code groupSize} of a per-output-channel scale ({@code strategy: "channel"}). */
    public static final int CHANNEL = -1;
    /** Group sizes vLLM's Marlin WNA16 kernels take, besides {@link #CHANNEL}. */
    public static final List<Integer> GROUP_SIZES = List.of(32, 64, 128);

    private static final Pattern WNA16 = Pattern.compile("(w4a16|w8a16)(?:-(g32|g64|g128|channel))?(-asym)?");

    /** The families. */
    public enum Preset {
        /** int4 weights packed 8 per int32 ({@code pack-quantized}), bf16/f16 activations. */
        W4A16("pack-quantized", 4),
        /** int8 weights packed 4 per int32 ({@code pack-quantized}), bf16/f16 activations. */
        W8A16("pack-quantized", 8),
        /** int8 weights per channel, int8 activations quantized per token at run time ({@code int-quantized}). */
        W8A8("int-quantized", 8),
        /** e4m3 weights with one scale per tensor, activations per tensor at run time ({@code float-quantized}). */
        FP8("float-quantized", 8),
        /** e4m3 weights per output channel, activations per token at run time ({@code float-quantized}). */
        FP8_DYNAMIC("float-quantized", 8),
        /** e4m3 weights in 128x128 blocks, activations per token per 128 channels at run time. */
        FP8_BLOCK("float-quantized", 8),
        /** fp4 e2m1 weights, e4m3 scales per 16, an f32 global scale per tensor ({@code nvfp4-pack-quantized}). */
        NVFP4A16("nvfp4-pack-quantized", 4),
        /** fp4 e2m1 weights with e8m0 power-of-two scales per 32 ({@code mxfp4-pack-quantized}). */
        MXFP4A16("mxfp4-pack-quantized", 4);

        private final String format;
        private final int bits;

        Preset(String format, int bits) {
            this.format = format;
            this.bits = bits;
        }

        /** The compressed-tensors {@code format} this preset is stored in. */
        public String format() {
            return format;
        }

        /** Weight bits. */
        public int bits() {
            return bits;
        }
    }

    public CompressedTensorsScheme {
        if (preset == null) throw new InvalidConfigException("compressed-tensors scheme: preset is required");
        boolean wna16 = preset == Preset.W4A16 || preset == Preset.W8A16;
        if (wna16) {
            if (groupSize != CHANNEL && !GROUP_SIZES.contains(groupSize)) {
                throw new InvalidConfigException("compressed-tensors " + preset + ": group size must be one of "
                        + GROUP_SIZES + " or per channel but was " + groupSize);
            }
        } else {
            int fixed = fixedGroupSize(preset);
            if (groupSize != fixed) {
                throw new InvalidConfigException("compressed-tensors " + preset + " has group size " + describe(fixed)
                        + " but " + describe(groupSize) + " was given");
            }
            if (!symmetric) {
                throw new InvalidConfigException("compressed-tensors " + preset + " is symmetric only (vLLM's "
                        + preset.format() + " kernels take no weight zero point)");
            }
        }
    }

    /** W4A16 / W8A16 with {@code groupSize} (or {@link #CHANNEL}). */
    public static CompressedTensorsScheme wna16(int bits, int groupSize, boolean symmetric) {
        Preset p = switch (bits) {
            case 4 -> Preset.W4A16;
            case 8 -> Preset.W8A16;
            default -> throw new InvalidConfigException("compressed-tensors weight-only integer schemes take 4 or 8 "
                    + "bits but " + bits + " was given");
        };
        return new CompressedTensorsScheme(p, groupSize, symmetric);
    }

    /** A fixed-shape preset (W8A8, FP8, FP8_DYNAMIC, FP8_BLOCK, NVFP4A16, MXFP4A16). */
    public static CompressedTensorsScheme of(Preset preset) {
        if (preset == Preset.W4A16 || preset == Preset.W8A16) return new CompressedTensorsScheme(preset, 128, true);
        return new CompressedTensorsScheme(preset, fixedGroupSize(preset), true);
    }

    /**
     * A scheme by CLI name: {@code w4a16}, {@code w4a16-g64}, {@code w8a16-channel-asym} (group 128 and symmetric
     * unless said), {@code w8a8}, {@code fp8}, {@code fp8-dynamic}, {@code fp8-block}, {@code nvfp4a16},
     * {@code mxfp4a16}.
     */
    public static CompressedTensorsScheme parse(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        Matcher m = WNA16.matcher(n);
        if (m.matches()) {
            String g = m.group(2);
            int group = g == null ? 128 : g.equals("channel") ? CHANNEL : Integer.parseInt(g.substring(1));
            return new CompressedTensorsScheme(m.group(1).equals("w4a16") ? Preset.W4A16 : Preset.W8A16, group,
                    m.group(3) == null);
        }
        return switch (n) {
            case "w8a8" -> of(Preset.W8A8);
            case "fp8" -> of(Preset.FP8);
            case "fp8-dynamic" -> of(Preset.FP8_DYNAMIC);
            case "fp8-block" -> of(Preset.FP8_BLOCK);
            case "nvfp4a16", "nvfp4" -> of(Preset.NVFP4A16);
            case "mxfp4a16", "mxfp4" -> of(Preset.MXFP4A16);
            default -> throw new InvalidConfigException("unknown compressed-tensors scheme '" + name + "'; known: "
                    + "w4a16[-g32|-g64|-g128|-channel][-asym], w8a16[...], w8a8, fp8, fp8-dynamic, fp8-block, "
                    + "nvfp4a16, mxfp4a16");
        };
    }

    /** The compressed-tensors {@code format}. */
    public String format() {
        return preset.format();
    }

    /** The CLI name {@link #parse} reads back. */
    public String cliName() {
        return switch (preset) {
            case W4A16, W8A16 -> preset.name().toLowerCase(Locale.ROOT)
                    + (groupSize == CHANNEL ? "-channel" : "-g" + groupSize) + (symmetric ? "" : "-asym");
            case FP8_DYNAMIC -> "fp8-dynamic";
            case FP8_BLOCK -> "fp8-block";
            default -> preset.name().toLowerCase(Locale.ROOT);
        };
    }

    /** Input columns covered by one scale along K, or {@link #CHANNEL} for the whole row. */
    private static int fixedGroupSize(Preset p) {
        return switch (p) {
            case NVFP4A16 -> 16;
            case MXFP4A16 -> 32;
            case FP8_BLOCK -> 128;
            default -> CHANNEL;
        };
    }

    private static String describe(int g) {
        return g == CHANNEL ? "per channel/tensor" : String.valueOf(g);
    }
}
