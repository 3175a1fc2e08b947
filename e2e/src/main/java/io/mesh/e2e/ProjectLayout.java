package io.mesh.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the repository root: the {@code mesh.root} system property (set by the build), or the nearest parent holding the runner. */
public final class ProjectLayout {

    private ProjectLayout() {
    }

    public static Path root() {
        String configured = System.getProperty("mesh.root");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.isRegularFile(dir.resolve("mesh")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("cannot find the repository root (no ./mesh above " + Path.of("").toAbsolutePath() + ")");
    }

    /** A folder for one test's logs and state, under e2e/target. */
    public static Path workDir(String name) {
        try {
            return Files.createDirectories(root().resolve("e2e/target/e2e-work").resolve(name));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
