package io.mesh.citadel.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.citadel.ca.KeyAlgorithm;
import io.mesh.testing.kube.KubeApiMock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Secret store against the Fabric8 CRUD mock API server, each replica with its own client. */
class SecretCaStoreTest {

    KubeApiMock api;
    List<KubernetesClient> clients = new ArrayList<>();

    @BeforeEach
    void startApi() throws Exception {
        api = KubeApiMock.start(0, false, false);
        client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("istio-system").endMetadata().build()).create();
    }

    @AfterEach
    void stopApi() {
        clients.forEach(KubernetesClient::close);
        api.close();
    }

    KubernetesClient client() {
        KubernetesClient c = api.client("istio-system");
        clients.add(c);
        return c;
    }

    IssuerMaterial start(KubernetesClient client) throws Exception {
        return CaBootstrap.loadOrCreate(new SecretCaStore(client, "istio-system", "istio-ca-secret"),
                KeyAlgorithm.EC_P256, "cluster.local", Duration.ofDays(365), Instant.now());
    }

    @Test
    void twoReplicasStartingTogetherEndWithOneSecretAndOneRoot() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<IssuerMaterial>> replicas = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                KubernetesClient client = client();
                replicas.add(pool.submit(() -> {
                    go.await();
                    return start(client);
                }));
            }
            go.countDown();
            Set<Object> roots = new java.util.HashSet<>();
            for (Future<IssuerMaterial> replica : replicas) {
                roots.add(replica.get().root());
            }

            assertEquals(1, roots.size(), "both replicas sign with the same root");
            List<Secret> secrets = client().secrets().inNamespace("istio-system").list().getItems();
            assertEquals(1, secrets.size());
            Secret secret = secrets.get(0);
            assertEquals("istio-ca-secret", secret.getMetadata().getName());
            assertEquals(SecretCaStore.SECRET_TYPE, secret.getType());
            assertEquals(Set.of("ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"),
                    secret.getData().keySet().stream().collect(Collectors.toSet()));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRestartKeepsTheRoot() throws Exception {
        IssuerMaterial first = start(client());

        IssuerMaterial restarted = start(client());

        assertNotNull(first.root());
        assertEquals(first.root(), restarted.root());
    }

    @Test
    void aConflictOnCreateReadsTheStoredRootBack() throws Exception {
        KubernetesClient client = client();
        IssuerMaterial winner = start(client);
        IssuerMaterial other = io.mesh.citadel.ca.CertificateIssuerTestSupport.selfSigned();

        // A replica that saw no Secret when it looked, then lost the race to create it.
        StoredCa stored = new SecretCaStore(client, "istio-system", "istio-ca-secret")
                .createOrReadBack(StoredCa.selfSigned(other));

        assertEquals(winner.root(), stored.toMaterial(Instant.now()).root());
    }
}
