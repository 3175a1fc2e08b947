package io.mesh.injector.inject;

/**
 * The pod asked for injection but the template cannot be applied to it (a bad annotation, a name clash).
 * The webhook denies the pod with this message, so {@code failurePolicy: Fail} blocks it rather than
 * admitting it without its sidecar.
 */
public class InjectionRefused extends RuntimeException {

    public InjectionRefused(String message) {
        super(message, null, false, false);
    }
}
