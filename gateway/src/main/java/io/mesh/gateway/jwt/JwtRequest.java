package io.mesh.gateway.jwt;

import io.mesh.gateway.route.RequestView;
import java.util.List;

/**
 * What the jwt_authn filter reads from a request and changes in it before the filters after it (RBAC, routing) and
 * the upstream see it: Envoy's filter edits the request headers in place, and so does this one.
 */
public interface JwtRequest extends RequestView {

    /** The request method, e.g. {@code OPTIONS}. */
    String method();

    /** Every value of a header, in order (empty when absent). */
    List<String> headerValues(String name);

    /** The query string as it will be forwarded (without '?'), or null. */
    String rawQuery();

    void removeHeader(String name);

    void addHeader(String name, String value);

    /** Drops every occurrence of a query parameter from the URI forwarded upstream. */
    void removeQueryParam(String name);
}
