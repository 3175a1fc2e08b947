package io.mesh.gateway.upstream;

/** An upstream address as EDS (or a static load assignment) lists it. */
public record Endpoint(String host, int port, int weight) {

    public String address() {
        return host + ":" + port;
    }
}
