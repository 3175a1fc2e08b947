package io.mesh.gateway.rbac;

import io.mesh.gateway.route.RequestView;

/** What authorization reads from a request, beyond routing's view: who is calling and from where. */
public interface RbacRequest extends RequestView {

    /** The caller's SPIFFE ID from its verified mTLS certificate, or null for a plaintext caller. */
    String principal();

    /** The caller's IP address (the original one, before capture), or null. */
    String sourceIp();

    /** The port the caller connected to (the original destination port). */
    int destinationPort();

    /**
     * A TCP connection as network RBAC sees it (decided once per connection): who, from where, to which port; no
     * HTTP attributes (pilot turns rules that need them fail-closed, as istiod does).
     */
    static RbacRequest connection(String principal, String sourceIp, int destinationPort) {
        return new Connection(principal, sourceIp, destinationPort);
    }

    /** {@link #connection}'s view. */
    record Connection(String principal, String sourceIp, int destinationPort) implements RbacRequest {
        @Override
        public String authority() {
            return null;
        }

        @Override
        public String path() {
            return null;
        }

        @Override
        public String header(String name) {
            return null;
        }

        @Override
        public String queryParam(String name) {
            return null;
        }
    }
}
