package io.mesh.cli;

/** Colour only when a person is watching: standard output is a terminal and NO_COLOR is unset. */
final class Terminal {

    private final boolean colour;

    private Terminal(boolean colour) {
        this.colour = colour;
    }

    static Terminal detect() {
        return new Terminal(System.console() != null && System.getenv("NO_COLOR") == null
                && !"dumb".equals(System.getenv("TERM")));
    }

    static Terminal plain() {
        return new Terminal(false);
    }

    String green(String text) {
        return colour ? "\u001b[32m" + text + "\u001b[0m" : text;
    }

    String red(String text) {
        return colour ? "\u001b[31m" + text + "\u001b[0m" : text;
    }

    String dim(String text) {
        return colour ? "\u001b[2m" + text + "\u001b[0m" : text;
    }
}
