package io.mesh.injector.webhook;

/** The request body is not an AdmissionReview this endpoint can answer; the server replies 400 with the message. */
public class BadAdmissionReview extends RuntimeException {

    public BadAdmissionReview(String message) {
        super(message, null, false, false);
    }
}
