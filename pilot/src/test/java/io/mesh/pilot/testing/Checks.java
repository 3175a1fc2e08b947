package io.mesh.pilot.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions JUnit lacks. */
public final class Checks {
    private Checks() {
    }

    public static void assertBetween(int value, int min, int max, String what) {
        assertTrue(value >= min && value <= max, what + ": " + value + " not in [" + min + ", " + max + "]");
    }
}
