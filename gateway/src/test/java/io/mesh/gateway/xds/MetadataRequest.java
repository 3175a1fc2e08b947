package io.mesh.gateway.xds;

import io.mesh.gateway.rbac.RbacRequest;
import java.util.Map;

/**
 * A request as routing and RBAC see it for the tests of {@code dynamic_metadata} matching: GET-less, path "/" on
 * shop.example, no headers, a plaintext caller on port 80, and only the given dynamic metadata by filter name.
 */
record MetadataRequest(Map<String, Map<String, Object>> metadata) implements RbacRequest {

    /** A request whose {@code istio_authn} metadata is {@code authn} (null: no verified JWT). */
    static MetadataRequest authn(Map<String, Object> authn) {
        return new MetadataRequest(authn == null ? Map.of() : Map.of("istio_authn", authn));
    }

    @Override
    public Map<String, Object> dynamicMetadata(String filter) {
        return metadata.get(filter);
    }

    @Override
    public String principal() {
        return null;
    }

    @Override
    public String sourceIp() {
        return null;
    }

    @Override
    public int destinationPort() {
        return 80;
    }

    @Override
    public String authority() {
        return "shop.example";
    }

    @Override
    public String path() {
        return "/";
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
