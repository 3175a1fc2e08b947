package io.mesh.citadel.store;

import java.io.IOException;
import java.util.Optional;

/**
 * Where the CA keeps its self-signed root between restarts: a Kubernetes Secret or a local folder.
 * Implementations must make {@link #createIfAbsent} atomic, so that replicas starting together agree on one root.
 */
public interface CaStore {

    Optional<StoredCa> load() throws IOException;

    /** Stores {@code ca} unless one is already stored; returns what is stored afterwards (ours or the winner's). */
    StoredCa createIfAbsent(StoredCa ca) throws IOException;

    /** Where, for log lines: a Secret name or a folder. */
    String describe();
}
