package io.mesh.e2e;

import java.net.URI;
import java.util.Map;

/** A packaged component running as a process, with the ports the harness gave it. */
public record RunningComponent(Component component, ManagedProcess process, int monitoringPort, Map<String, String> env) {

    /** A URI on the component's monitoring port, e.g. {@code monitoring("/q/metrics")}. */
    public URI monitoring(String path) {
        return URI.create("http://127.0.0.1:" + monitoringPort + path);
    }
}
