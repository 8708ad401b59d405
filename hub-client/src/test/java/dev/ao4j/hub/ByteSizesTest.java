package dev.ao4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ByteSizesTest {
    @Test
    void wholeBytesBelowOneKilobyteElseDecimalUnitsUpToTerabytes() {
        assertEquals("0 B", ByteSizes.human(0, 1));
        assertEquals("999 B", ByteSizes.human(999, 2));
        assertEquals("1.0 kB", ByteSizes.human(1000, 1));
        assertEquals("3.2 MB", ByteSizes.human(3_150_520, 1));
        assertEquals("3.15 MB", ByteSizes.human(3_150_520, 2));
        assertEquals("2500.0 TB", ByteSizes.human(2_500_000_000_000_000L, 1));
    }
}
