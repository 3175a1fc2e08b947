package io.mesh.injector.webhook;

import java.util.concurrent.CompletionStage;

/**
 * One admission endpoint's logic, behind the generic {@link AdmissionServer}. It is called on an event
 * loop and must not block: work that may wait (an API call) completes the stage later.
 * Input the handler cannot make sense of is reported by throwing {@link BadAdmissionReview} (HTTP 400);
 * anything the handler decides about a well-formed object is an {@link AdmissionResult}.
 */
@FunctionalInterface
public interface AdmissionHandler {

    CompletionStage<AdmissionResult> admit(AdmissionRequest request);
}
