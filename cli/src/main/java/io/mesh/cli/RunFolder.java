package io.mesh.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The local runner's run folder: its {@code endpoints} file names each process's health URL. */
final class RunFolder {

    private RunFolder() {
    }

    /** The run folder a command uses: the one given, else $MESH_RUN_DIR, else .mesh/run. */
    static Path resolve(Path given) {
        return given != null ? given : Path.of(System.getenv().getOrDefault("MESH_RUN_DIR", ".mesh/run"));
    }

    /** Whether a local mesh's run folder is there: the runner writes its endpoints file once everything is up. */
    static boolean present(Path runDir) {
        return Files.isRegularFile(runDir.resolve("endpoints"));
    }

    /** The base URL of {@code name}'s monitoring port, from its "name health-url" line. */
    static Optional<URI> endpoint(Path runDir, String name) {
        Path endpoints = runDir.resolve("endpoints");
        if (!Files.isRegularFile(endpoints)) {
            return Optional.empty();
        }
        try {
            for (String line : Files.readAllLines(endpoints)) {
                String[] fields = line.strip().split("\\s+");
                if (fields.length == 2 && fields[0].equals(name)) {
                    return Optional.of(URI.create(fields[1]).resolve("/"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + endpoints, e);
        }
        return Optional.empty();
    }
}
