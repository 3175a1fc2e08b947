package io.mesh.pilot.xds;

import com.google.common.collect.Interner;
import com.google.common.collect.Interners;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * The resource names a watch asks for, interned: every connection that asks for the same names (a fleet of
 * sidecars asks for the same thousand clusters) holds the same instance, with its hash computed once. The
 * generation cache's keys then compare names by identity instead of element by element on every push.
 */
final class NameSet {
    private static final Interner<NameSet> INTERNED = Interners.newWeakInterner();
    static final NameSet ALL = of(Set.of());

    private final Set<String> names;
    /** The names in the order of the request that made this set first: the order clients repeat them in. */
    private final List<String> order;
    private final int hash;

    private NameSet(Set<String> names, List<String> order) {
        this.names = names;
        this.order = order;
        this.hash = names.hashCode();
    }

    static NameSet of(Collection<String> names) {
        return INTERNED.intern(new NameSet(Set.copyOf(names), List.copyOf(names)));
    }

    /** True when {@code asked} lists exactly these names, in any order. */
    boolean sameAs(List<String> asked) {
        if (asked.size() != names.size()) {
            return false;
        }
        // Usually the same names in the same order: compared in place, without hashing a thousand fresh strings.
        if (asked.equals(order)) {
            return true;
        }
        // Another order, or repeats: as sets (a repeated name must not stand in for a missing one).
        return names.equals(new java.util.HashSet<>(asked));
    }

    Set<String> names() {
        return names;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || (o instanceof NameSet n && n.hash == hash && n.names.equals(names));
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return names.toString();
    }
}
