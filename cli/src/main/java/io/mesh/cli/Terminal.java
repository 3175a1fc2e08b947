package io.mesh.cli;

/** Colour only when a person is watching: standard output is a terminal and NO_COLOR is unset. */
final class Terminal {

    private final boolean colour;
    private final boolean interactive;

    private Terminal(boolean colour, boolean interactive) {
        this.colour = colour;
        this.interactive = interactive;
    }

    static Terminal detect() {
        boolean tty = System.console() != null && !"dumb".equals(System.getenv("TERM"));
        return new Terminal(tty && System.getenv("NO_COLOR") == null, tty);
    }

    static Terminal plain() {
        return new Terminal(false, false);
    }

    /** A person at a terminal: screens may be redrawn in place. */
    boolean interactive() {
        return interactive;
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
