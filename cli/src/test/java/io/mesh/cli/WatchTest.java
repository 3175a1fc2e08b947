package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** meshctl apps -w: redrawn in place on a terminal, one table after another elsewhere; --interval's forms. */
class WatchTest {

    @Test
    void aTerminalIsClearedAndHomedBeforeEachFrame() {
        assertEquals("\u001b[H\u001b[2JTABLE\n", Watch.frame("TABLE\n", true, true));
        assertEquals("\u001b[H\u001b[2JTABLE\n", Watch.frame("TABLE\n", true, false));
    }

    @Test
    void elsewhereFramesFollowEachOtherAfterABlankLine() {
        assertEquals("TABLE\n", Watch.frame("TABLE\n", false, true));
        assertEquals(System.lineSeparator() + "TABLE\n", Watch.frame("TABLE\n", false, false));
    }

    @Test
    void intervalsTakeAUnit() {
        AppsCommand.Intervals intervals = new AppsCommand.Intervals();
        assertEquals(Duration.ofSeconds(2), intervals.convert("2s"));
        assertEquals(Duration.ofSeconds(3), intervals.convert("3"));
        assertEquals(Duration.ofMillis(500), intervals.convert("500ms"));
        assertEquals(Duration.ofMillis(1500), intervals.convert("1.5s"));
        assertEquals(Duration.ofMinutes(1), intervals.convert("1m"));
        assertThrows(CommandLine.TypeConversionException.class, () -> intervals.convert("soon"));
        assertThrows(CommandLine.TypeConversionException.class, () -> intervals.convert("10ms"));
    }
}
