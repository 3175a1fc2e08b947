package io.mesh.gateway.route;

/** A copy of matching requests goes to {@code cluster}; its answer is ignored. */
public record MirrorPolicy(String cluster, int perMillion) {
}
