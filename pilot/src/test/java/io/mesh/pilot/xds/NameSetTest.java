package io.mesh.pilot.xds;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a connection decides that an ACK asks for the names it already watches (and keeps its NameSet). */
class NameSetTest {
    private static List<String> fresh(String... names) {
        // New String instances, as the parser makes them for every request.
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add(new String(n.toCharArray()));
        }
        return out;
    }

    @Test
    void equalNamesShareOneInstance() {
        assertSame(NameSet.of(fresh("a", "b")), NameSet.of(fresh("b", "a")));
    }

    @Test
    void theSameNamesInAnyOrderAreTheSameSubscription() {
        NameSet set = NameSet.of(fresh("outbound|80||a", "outbound|80||b", "outbound|80||c"));
        assertTrue(set.sameAs(fresh("outbound|80||a", "outbound|80||b", "outbound|80||c")));
        assertTrue(set.sameAs(fresh("outbound|80||c", "outbound|80||a", "outbound|80||b")));
    }

    @Test
    void anAddedRemovedOrReplacedNameIsANewSubscription() {
        NameSet set = NameSet.of(fresh("a", "b", "c"));
        assertFalse(set.sameAs(fresh("a", "b", "c", "d")));
        assertFalse(set.sameAs(fresh("a", "b")));
        assertFalse(set.sameAs(fresh("a", "b", "x")));
        // A repeated name is not taken for a missing one.
        assertFalse(set.sameAs(fresh("a", "b", "b")));
    }

    @Test
    void anEmptyRequestIsTheWildcard() {
        assertTrue(NameSet.ALL.sameAs(List.of()));
        assertFalse(NameSet.ALL.sameAs(fresh("a")));
    }
}
