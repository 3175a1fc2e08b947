package io.mesh.cli;

/** How -w shows each refresh: in place on a terminal, else one after the other so a log keeps them all. */
final class Watch {

    /** ANSI: cursor home, then clear the screen. */
    static final String CLEAR = "\u001b[H\u001b[2J";

    private Watch() {
    }

    static String frame(String content, boolean tty, boolean first) {
        if (tty) {
            return CLEAR + content;
        }
        return first ? content : System.lineSeparator() + content;
    }
}
