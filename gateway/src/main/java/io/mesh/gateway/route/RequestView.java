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

    /**
     * The request's dynamic metadata under one filter's namespace (e.g. {@code istio_authn}, written after a JWT
     * verified), as protobuf Struct values (String, Boolean, Double, List, Map, null for a JSON null); null when the
     * filter wrote none, which is what a connection or a request without a verified JWT has. Read by RBAC and by
     * routes with {@code dynamic_metadata} matches (Istio's JWT claim routing).
     */
    default java.util.Map<String, Object> dynamicMetadata(String filter) {
        return null;
    }
}
