package io.mesh.citadel;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions on text output (openssl, logs, messages) that show the whole text when they fail. */
public final class Texts {

    private Texts() {
    }

    public static void assertContains(String text, String... parts) {
        for (String part : parts) {
            assertTrue(text != null && text.contains(part), "expected '" + part + "' in:\n" + text);
        }
    }

    public static void assertStartsWith(String text, String prefix) {
        assertTrue(text != null && text.startsWith(prefix), "expected to start with '" + prefix + "': " + text);
    }
}
