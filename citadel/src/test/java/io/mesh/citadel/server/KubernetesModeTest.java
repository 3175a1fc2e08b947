package io.mesh.citadel.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mesh.citadel.CitadelRuntime;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.Pem;
import io.mesh.citadel.distribution.RootConfigMaps;
import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.KubeApiMockResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Kubernetes mode against the Fabric8 CRUD mock API server: the CA Secret, root ConfigMaps and TokenReview. */
@QuarkusTest
@TestProfile(KubernetesModeTest.KubernetesMode.class)
@WithTestResource(KubeApiMockResource.class)
class KubernetesModeTest {

    public static class KubernetesMode implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mesh.mode", "kubernetes");
        }
    }

    static final String TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";

    @Inject
    CitadelRuntime runtime;

    KubeApiMock api;
    KubernetesClient kube;
    ManagedChannel channel;

    @BeforeEach
    void connect() throws Exception {
        kube = api.client("default");
        channel = CaChannels.open(runtime.grpcPort(), runtime.issuer().trustBundle(), Optional.empty());
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
        kube.close();
    }

    static io.fabric8.kubernetes.api.model.authentication.TokenReview review(boolean authenticated, String user,
            List<String> audiences) {
        return new TokenReviewBuilder().withNewStatus().withAuthenticated(authenticated).withAudiences(audiences)
                .withNewUser().withUsername(user).endUser().endStatus().build();
    }

    @Test
    void theCaIsStoredInIstioCaSecret() throws Exception {
        var secret = kube.secrets().inNamespace("istio-system").withName("istio-ca-secret").get();

        assertNotNull(secret);
        String stored = new String(java.util.Base64.getDecoder().decode(secret.getData().get("root-cert.pem")));
        assertEquals(runtime.issuer().material().root(), Pem.certificates(stored).get(0));
    }

    @Test
    void aNewNamespaceGetsTheRootConfigMapAndAnEditedOneIsRestored() throws Exception {
        kube.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop").endMetadata().build()).create();
        String expected = Pem.encode(runtime.issuer().trustBundle());

        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> rootConfigMap("shop") != null);
        assertEquals(expected, rootConfigMap("shop").getData().get(RootConfigMaps.KEY));

        kube.configMaps().inNamespace("shop").withName(RootConfigMaps.NAME)
                .edit(cm -> new ConfigMapBuilder(cm).withData(Map.of(RootConfigMaps.KEY, "tampered")).build());
        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> expected.equals(rootConfigMap("shop").getData().get(RootConfigMaps.KEY)));

        kube.configMaps().inNamespace("shop").withName(RootConfigMaps.NAME).delete();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> rootConfigMap("shop") != null
                && expected.equals(rootConfigMap("shop").getData().get(RootConfigMaps.KEY)));
    }

    ConfigMap rootConfigMap(String namespace) {
        return kube.configMaps().inNamespace(namespace).withName(RootConfigMaps.NAME).get();
    }

    @Test
    void aServiceAccountTokenAcceptedByTokenReviewGetsItsSpiffeId() throws Exception {
        api.expect().post().withPath(TOKEN_REVIEWS)
                .andReturn(201, review(true, "system:serviceaccount:shop:cart", List.of("istio-ca"))).once();

        var response = CaChannels.call(channel, Optional.of("header.payload.signature"),
                TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0);

        var leaf = Pem.certificates(response.getCertChain(0)).get(0);
        assertEquals("spiffe://cluster.local/ns/shop/sa/cart", leaf.getSubjectAlternativeNames().iterator().next().get(1));
    }

    @Test
    void aTokenForAnotherAudienceIsUnauthenticated() throws Exception {
        api.expect().post().withPath(TOKEN_REVIEWS)
                .andReturn(201, review(true, "system:serviceaccount:shop:cart", List.of("https://kubernetes.default.svc"))).once();

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> CaChannels.call(channel,
                Optional.of("header.payload.signature"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0));

        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    }

    @Test
    void aTokenTheApiServerRejectsIsUnauthenticated() throws Exception {
        api.expect().post().withPath(TOKEN_REVIEWS).andReturn(201, review(false, "", List.of())).once();

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> CaChannels.call(channel,
                Optional.of("expired"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0));

        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    }

    @Test
    void aServiceAccountAskingForAnotherIdentityIsPermissionDenied() throws Exception {
        api.expect().post().withPath(TOKEN_REVIEWS)
                .andReturn(201, review(true, "system:serviceaccount:shop:cart", List.of("istio-ca"))).once();
        String csr = TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of("spiffe://cluster.local/ns/istio-system/sa/citadel"));

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> CaChannels.call(channel, Optional.of("header.payload.signature"), csr, 0));

        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    }
}
