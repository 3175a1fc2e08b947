package io.mesh.e2e;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The five packaged components, where their runnable jars are after {@code ./mvnw package}, and the
 * settings of the ports each listens on besides its monitoring port (so tests can give them free ones).
 */
public enum Component {
    PILOT("XDS_PORT", "TLS_PORT"),
    CITADEL("GRPC_PORT"),
    GATEWAY("STATUS_PORT", "ADMIN_PORT", "LISTENERS_HTTP_PORT", "LISTENERS_HTTPS_PORT"),
    INJECTOR("WEBHOOK_PORT"),
    TELEMETRY("OTLP_GRPC_PORT", "OTLP_HTTP_PORT");

    private final List<String> portSettings;

    Component(String... portSettings) {
        this.portSettings = List.of(portSettings);
    }

    /** The module folder and the lower-case name: {@code pilot}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The prefix of the component's environment settings: {@code MESH_PILOT_}. */
    public String envPrefix() {
        return "MESH_" + name() + "_";
    }

    /** The environment variables of its ports other than the monitoring port: {@code MESH_PILOT_XDS_PORT}. */
    public List<String> portVariables() {
        return portSettings.stream().map(s -> envPrefix() + s).toList();
    }

    public Path runnableJar(Path projectRoot) {
        return projectRoot.resolve(id()).resolve("target/quarkus-app/quarkus-run.jar");
    }
}
