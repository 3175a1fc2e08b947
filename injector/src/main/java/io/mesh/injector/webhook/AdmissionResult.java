package io.mesh.injector.webhook;

import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.Objects;

/**
 * What a handler decided: admit unchanged, admit with a JSON patch, or deny with a message that
 * {@code kubectl} shows the user.
 */
public record AdmissionResult(boolean allowed, ArrayNode patch, String message) {

    public AdmissionResult {
        if (!allowed) {
            Objects.requireNonNull(message, "a denial needs a message");
        }
        if (patch != null && patch.isEmpty()) {
            patch = null;
        }
    }

    public static AdmissionResult admit() {
        return new AdmissionResult(true, null, null);
    }

    public static AdmissionResult admit(ArrayNode patch) {
        return new AdmissionResult(true, patch, null);
    }

    public static AdmissionResult deny(String message) {
        return new AdmissionResult(false, null, message);
    }
}
