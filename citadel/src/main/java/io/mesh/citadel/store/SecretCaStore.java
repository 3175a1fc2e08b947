package io.mesh.citadel.store;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The CA in Secret {@code istio-ca-secret} (namespace {@code istio-system}), with Istio's key names and type.
 * Creation relies on the API server: a create of an existing Secret answers 409, and then the stored root is
 * read back, so replicas starting at once end with the one root that the API server accepted first.
 */
public final class SecretCaStore implements CaStore {

    /** Istio's Secret type for its self-signed CA. */
    static final String SECRET_TYPE = "istio.io/ca-root";

    private final KubernetesClient client;
    private final String namespace;
    private final String name;

    public SecretCaStore(KubernetesClient client, String namespace, String name) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
    }

    @Override
    public Optional<StoredCa> load() throws IOException {
        try {
            Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
            return Optional.ofNullable(secret).map(SecretCaStore::decode);
        } catch (KubernetesClientException e) {
            throw new IOException("cannot read Secret " + describe() + ": HTTP " + e.getCode(), e);
        }
    }

    @Override
    public StoredCa createIfAbsent(StoredCa ca) throws IOException {
        Optional<StoredCa> existing = load();
        return existing.isPresent() ? existing.get() : createOrReadBack(ca);
    }

    /** The create itself: on 409 another replica won between our read and our create, so read its root back. */
    StoredCa createOrReadBack(StoredCa ca) throws IOException {
        Map<String, String> data = new HashMap<>();
        ca.toMap().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
        Secret secret = new SecretBuilder().withNewMetadata().withNamespace(namespace).withName(name)
                .addToLabels("app.kubernetes.io/managed-by", "citadel").endMetadata()
                .withType(SECRET_TYPE).withData(data).build();
        try {
            client.secrets().inNamespace(namespace).resource(secret).create();
            return ca;
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                throw new IOException("cannot create Secret " + describe() + ": HTTP " + e.getCode(), e);
            }
            // Another replica created it first: its root wins.
            return load().orElseThrow(() -> new IOException("Secret " + describe() + " conflicted but cannot be read"));
        }
    }

    @Override
    public String describe() {
        return "Secret " + namespace + "/" + name;
    }

    private static StoredCa decode(Secret secret) {
        Map<String, String> entries = new HashMap<>();
        if (secret.getData() != null) {
            secret.getData().forEach((k, v) -> entries.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
        }
        if (secret.getStringData() != null) {
            entries.putAll(secret.getStringData());
        }
        return StoredCa.fromMap(entries);
    }
}
