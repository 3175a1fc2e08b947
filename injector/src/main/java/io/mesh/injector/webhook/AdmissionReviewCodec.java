package io.mesh.injector.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Base64;

/**
 * Reads {@code admission.k8s.io/v1} AdmissionReview requests and writes their responses. Only v1 is
 * accepted: v1beta1 was removed from Kubernetes in 1.22, and the webhook configuration asks for v1.
 */
public final class AdmissionReviewCodec {

    public static final String API_VERSION = "admission.k8s.io/v1";
    public static final String KIND = "AdmissionReview";

    private final ObjectMapper json;

    public AdmissionReviewCodec(ObjectMapper json) {
        this.json = json;
    }

    /** @throws BadAdmissionReview with a message naming what is wrong */
    public AdmissionRequest read(byte[] body) {
        JsonNode review;
        try {
            review = json.readTree(body);
        } catch (IOException e) {
            throw new BadAdmissionReview("malformed JSON: " + firstLine(e));
        }
        if (review == null || !review.isObject()) {
            throw new BadAdmissionReview("the body must be a JSON object (an AdmissionReview)");
        }
        String kind = review.path("kind").asText("");
        if (!KIND.equals(kind)) {
            throw new BadAdmissionReview("kind must be AdmissionReview, not '" + kind + "'");
        }
        String apiVersion = review.path("apiVersion").asText("");
        if (!API_VERSION.equals(apiVersion)) {
            throw new BadAdmissionReview("apiVersion must be " + API_VERSION + ", not '" + apiVersion + "'");
        }
        JsonNode request = review.get("request");
        if (request == null || !request.isObject()) {
            throw new BadAdmissionReview("the AdmissionReview has no request");
        }
        JsonNode uid = request.get("uid");
        if (uid == null || !uid.isTextual() || uid.asText().isEmpty()) {
            throw new BadAdmissionReview("request.uid is missing");
        }
        JsonNode object = request.get("object");
        if (object == null || !object.isObject()) {
            throw new BadAdmissionReview("request.object is missing");
        }
        JsonNode kindNode = request.path("kind");
        String objectKind = kindNode.path("group").asText("") + "/" + kindNode.path("version").asText("") + "/"
                + kindNode.path("kind").asText(object.path("kind").asText(""));
        return new AdmissionRequest(uid.asText(), objectKind, request.path("namespace").asText(""),
                request.path("name").asText(""), request.path("operation").asText(""), (ObjectNode) object);
    }

    public byte[] write(String uid, AdmissionResult result) {
        ObjectNode review = json.createObjectNode();
        review.put("apiVersion", API_VERSION);
        review.put("kind", KIND);
        ObjectNode response = review.putObject("response");
        response.put("uid", uid);
        response.put("allowed", result.allowed());
        if (result.patch() != null) {
            response.put("patchType", "JSONPatch");
            try {
                response.put("patch", Base64.getEncoder().encodeToString(json.writeValueAsBytes(result.patch())));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a JSON tree always serializes", e);
            }
        }
        if (!result.allowed()) {
            ObjectNode status = response.putObject("status");
            status.put("status", "Failure");
            status.put("code", 403);
            status.put("reason", "Forbidden");
            status.put("message", result.message());
        }
        try {
            return json.writeValueAsBytes(review);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }

    private static String firstLine(IOException e) {
        String message = e instanceof JsonProcessingException p ? p.getOriginalMessage() : e.getMessage();
        message = String.valueOf(message).lines().findFirst().orElse("");
        if (message.length() > 200) {
            message = message.substring(0, 200) + "...";
        }
        if (e instanceof JsonProcessingException p && p.getLocation() != null) {
            message += " (line " + p.getLocation().getLineNr() + ", column " + p.getLocation().getColumnNr() + ")";
        }
        return message;
    }
}
