package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Asks the running injector about one pod, as the API server does: an {@code admission.k8s.io/v1} AdmissionReview
 * (CREATE of a v1 Pod, dry run) POSTed to its webhook, {@code /inject} over TLS. The answer is the injector's own
 * decision: a JSON patch, admitted unchanged, or refused with its message. It reaches the webhook directly (the
 * local mesh, or a port-forward) or through the API server's service proxy to the injector's Service, with the
 * kubeconfig's credentials (the user needs {@code create} on {@code services/proxy} in istio-system).
 */
final class InjectorClient {

    /** The injector's Service and its webhook port (443, to the pods' 15017). */
    static final String SERVICE = "istio-sidecar-injector";
    static final int SERVICE_PORT = 443;
    static final String PATH = "/inject";

    /** The injector's answer about one pod. {@code patch} is null when it admitted the pod unchanged or refused it. */
    record Decision(boolean allowed, ArrayNode patch, String message) {
    }

    /** The injector could not be asked, or answered something that is not an AdmissionReview. */
    static final class Unreachable extends Exception {
        Unreachable(String message) {
            super(message);
        }
    }

    private interface Transport {
        MonitoringApi.Response post(byte[] body) throws IOException, InterruptedException;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String where;
    private final Transport transport;
    /** Added to a 401 or 403: what the user must be allowed, or "". */
    private final String forbiddenHint;

    private InjectorClient(String where, Transport transport, String forbiddenHint) {
        this.where = where;
        this.transport = transport;
        this.forbiddenHint = forbiddenHint;
    }

    /** The webhook at {@code url} over HTTPS, trusting {@code caBundle} (PEM) when given, else the JDK's trust store. */
    static InjectorClient direct(URI url, Path caBundle) throws Unreachable {
        if (caBundle == null) {
            return direct(url, null, null);
        }
        byte[] pem;
        try {
            pem = Files.readAllBytes(caBundle);
        } catch (IOException e) {
            throw new Unreachable("cannot read the injector's CA bundle " + caBundle + ": " + e.getMessage());
        }
        return direct(url, pem, caBundle.toString());
    }

    /**
     * The webhook at {@code url} over HTTPS, trusting the PEM bundle {@code caBundle} (named {@code source} in
     * messages) when given, else the JDK's trust store.
     */
    static InjectorClient direct(URI url, byte[] caBundle, String source) throws Unreachable {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3))
                .version(HttpClient.Version.HTTP_1_1);
        if (caBundle != null) {
            builder.sslContext(trusting(caBundle, source));
        }
        HttpClient http = builder.build();
        String where = url + (caBundle != null ? " (trusting " + source + ")" : "");
        return new InjectorClient(where, body -> {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            return new MonitoringApi.Response(response.statusCode(), response.body());
        }, "");
    }

    /** The injector's Service in {@code namespace}, through the API server's service proxy (HTTPS to the pod). */
    static InjectorClient serviceProxy(KubernetesClient client, String namespace) {
        String master = client.getMasterUrl().toString();
        String url = (master.endsWith("/") ? master : master + "/") + "api/v1/namespaces/" + namespace + "/services/https:"
                + SERVICE + ":" + SERVICE_PORT + "/proxy" + PATH;
        String where = "service " + namespace + "/" + SERVICE + ":" + SERVICE_PORT + " through " + master;
        return new InjectorClient(where, body -> {
            io.fabric8.kubernetes.client.http.HttpClient http = client.getHttpClient();
            io.fabric8.kubernetes.client.http.HttpRequest request = http.newHttpRequestBuilder().uri(url)
                    .post("application/json", body).timeout(10, TimeUnit.SECONDS).build();
            try {
                io.fabric8.kubernetes.client.http.HttpResponse<String> response = http.sendAsync(request, String.class)
                        .get(15, TimeUnit.SECONDS);
                return new MonitoringApi.Response(response.code(), response.body() == null ? "" : response.body());
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                throw new IOException(cause.getMessage() == null ? cause.toString() : cause.getMessage(), cause);
            } catch (TimeoutException e) {
                throw new IOException("no answer in 15 s", e);
            }
        }, "; the kubeconfig's user needs create on services/proxy in " + namespace);
    }

    /** Where the injector is asked, for messages. */
    String where() {
        return where;
    }

    /**
     * The injector's decision about {@code pod} created in {@code namespace}.
     *
     * @throws Unreachable when it cannot be reached or does not answer with an AdmissionReview for this request
     */
    Decision review(ObjectNode pod, String namespace) throws Unreachable, InterruptedException {
        String uid = UUID.randomUUID().toString();
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1");
        review.put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", uid);
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
        request.put("name", pod.path("metadata").path("name").asText(""));
        request.put("namespace", namespace);
        request.put("operation", "CREATE");
        request.put("dryRun", true);
        request.set("object", pod);
        MonitoringApi.Response response;
        try {
            response = transport.post(JSON.writeValueAsBytes(review));
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage()
                    : e instanceof java.net.ConnectException ? "connection refused" : e.getClass().getSimpleName();
            throw new Unreachable("cannot reach the injector at " + where + ": " + why);
        }
        if (response.status() != 200) {
            throw new Unreachable("the injector answered " + response.status() + " on " + PATH + " (" + where + "): "
                    + MonitoringApi.abbreviate(response.body().strip())
                    + (response.status() == 401 || response.status() == 403 ? forbiddenHint : ""));
        }
        return decision(response.body(), uid);
    }

    private Decision decision(String body, String uid) throws Unreachable {
        JsonNode answer;
        try {
            answer = JSON.readTree(body);
        } catch (IOException e) {
            answer = null;
        }
        JsonNode response = answer == null ? null : answer.get("response");
        if (response == null || !"AdmissionReview".equals(answer.path("kind").asText())
                || !uid.equals(response.path("uid").asText()) || !response.path("allowed").isBoolean()) {
            throw new Unreachable("the injector at " + where + " did not answer with the AdmissionReview asked for: "
                    + MonitoringApi.abbreviate(body.strip()));
        }
        if (!response.path("allowed").asBoolean()) {
            return new Decision(false, null, response.path("status").path("message").asText("no reason given"));
        }
        if (!response.has("patch")) {
            return new Decision(true, null, null);
        }
        if (!"JSONPatch".equals(response.path("patchType").asText())) {
            throw new Unreachable("the injector at " + where + " answered a patch of type '"
                    + response.path("patchType").asText() + "', not JSONPatch");
        }
        try {
            JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText()));
            if (patch instanceof ArrayNode operations) {
                return new Decision(true, operations, null);
            }
        } catch (IOException | IllegalArgumentException e) {
            // reported below
        }
        throw new Unreachable("the injector at " + where + " answered a patch that is not a base64 JSON Patch array");
    }

    private static SSLContext trusting(byte[] caBundle, String source) throws Unreachable {
        try (InputStream in = new java.io.ByteArrayInputStream(caBundle)) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + i++, certificate);
            }
            if (i == 0) {
                throw new Unreachable(source + " holds no PEM certificate");
            }
            TrustManagerFactory managers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            managers.init(trust);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, managers.getTrustManagers(), null);
            return tls;
        } catch (IOException e) {
            throw new Unreachable("cannot read the injector's CA bundle " + source + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new Unreachable("cannot use the injector's CA bundle " + source + ": " + e.getMessage());
        }
    }
}
