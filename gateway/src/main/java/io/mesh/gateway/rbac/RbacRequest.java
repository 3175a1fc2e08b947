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
}
