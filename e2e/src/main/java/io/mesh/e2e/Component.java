package io.mesh.e2e;

import java.nio.file.Path;
import java.util.Locale;

/** The five packaged components, and where their runnable jars are after {@code ./mvnw package}. */
public enum Component {
    PILOT,
    CITADEL,
    GATEWAY,
    INJECTOR,
    TELEMETRY;

    /** The module folder and the lower-case name: {@code pilot}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The prefix of the component's environment settings: {@code MESH_PILOT_}. */
    public String envPrefix() {
        return "MESH_" + name() + "_";
    }

    public Path runnableJar(Path projectRoot) {
        return projectRoot.resolve(id()).resolve("target/quarkus-app/quarkus-run.jar");
    }
}
