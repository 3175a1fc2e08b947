package io.mesh.gateway.route;

/**
 * What routing reads from a request. Pseudo-headers {@code :method}, {@code :authority}, {@code :path} and
 * {@code :scheme} are answered by {@link #header}, as Envoy's header matchers see them.
 */
public interface RequestView {

    String authority();

    /** The path without the query string. */
    String path();

    String header(String name);

    String queryParam(String name);
}
