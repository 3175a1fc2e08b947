package io.mesh.gateway.route;

/** What consistent-hash load balancing hashes: a header, a cookie or the source IP. */
public record HashPolicy(Kind kind, String name) {

    public enum Kind { HEADER, COOKIE, SOURCE_IP }
}
