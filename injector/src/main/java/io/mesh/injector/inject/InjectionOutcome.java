package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.node.ArrayNode;

/**
 * What injection did to one pod: skipped (with why), injected (with the JSON patch), or refused (with the
 * message the user sees).
 */
public record InjectionOutcome(Kind kind, String reason, ArrayNode patch) {

    public enum Kind { SKIPPED, INJECTED, REFUSED }

    static InjectionOutcome skipped(String reason) {
        return new InjectionOutcome(Kind.SKIPPED, reason, null);
    }

    static InjectionOutcome injected(ArrayNode patch) {
        return new InjectionOutcome(Kind.INJECTED, null, patch);
    }

    static InjectionOutcome refused(String message) {
        return new InjectionOutcome(Kind.REFUSED, message, null);
    }
}
