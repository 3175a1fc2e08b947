package io.mesh.injector.webhook;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The parts of an {@code admission.k8s.io/v1} AdmissionRequest a handler needs.
 *
 * @param uid echoed in the response; the API server matches on it
 * @param kind the object's kind as {@code group/version/Kind} ({@code /v1/Pod} for core pods)
 * @param namespace the request's namespace; pods created by controllers have no {@code metadata.namespace}
 * @param name the object's name, often empty on CREATE (generateName)
 * @param operation CREATE, UPDATE, DELETE or CONNECT
 * @param object the object as sent; handlers must not modify it
 */
public record AdmissionRequest(String uid, String kind, String namespace, String name, String operation,
        ObjectNode object) {
}
