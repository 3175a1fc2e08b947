package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.mesh.testing.FreePorts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gateway's xDS node carries its environment's {@code ISTIO_META_*} variables as istio-agent puts them there (istio
 * {@code pkg/bootstrap/config.go}: {@code ISTIO_META_<NAME>} is {@code <NAME>}, a string), as its ADS requests show
 * them to the control plane; the gateway's own fields win; {@code OWNER} also goes to peers in the metadata exchange.
 */
class NodeMetadataTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final String OWNER = "kubernetes://apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway";
    static Backend reviews;
    static ControlPlane pilot;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        reviews = MESH.backend("reviews");
        pilot = MESH.pilot();
        port = FreePorts.next();
        outboundWithExchange(pilot, port, reviews.port);
        Map<String, String> env = Map.of(
                "ISTIO_META_FOO", "bar",
                "ISTIO_META_IDLE_TIMEOUT", "30m",
                "ISTIO_META_OWNER", OWNER,
                "ISTIO_META_WORKLOAD_NAME", "istio-ingressgateway",
                "ISTIO_META_LABELS", "{\"app\": \"not-json-parsed\"}",
                "ISTIO_META_NAMESPACE", "elsewhere",
                "ISTIO_META_", "no name",
                "ISTIO_METAJSON_ANNOTATIONS", "{\"a\": \"b\"}",
                "PATH", "/usr/bin");
        MESH.closing(TestGateway.ready(pilot, Map.of("mesh.gateway.node.namespace", "istio-system"), env));
    }

    /**
     * An outbound listener on {@code port} that routes everything to the cluster {@code reviews} at {@code backendPort},
     * with the metadata exchange upstream (discovery and propagation).
     */
    static void outboundWithExchange(ControlPlane pilot, int port, int backendPort) {
        HttpConnectionManager outbound = Xds.hcm("http.80").toBuilder()
                .addHttpFilters(0, MetadataExchangeTest.mxFilter("upstream_discovery", "upstream_propagation")).build();
        pilot.set(List.of(Xds.edsCluster("reviews")), List.of(Xds.endpoints("reviews", backendPort)),
                List.of(MetadataExchangeTest.listener("outbound", port, outbound)),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "reviews")))), List.of());
    }

    static Node node() {
        return firstNode(pilot);
    }

    /** The node of the first ADS request {@code pilot} got that carried one. */
    static Node firstNode(ControlPlane pilot) {
        return pilot.requests.stream().filter(DiscoveryRequest::hasNode).map(DiscoveryRequest::getNode).findFirst()
                .orElseThrow();
    }

    static String field(Struct s, String name) {
        return s.getFieldsOrThrow(name).getStringValue();
    }

    @Test
    void everyIstioMetaVariableIsANodeMetadataFieldAsIstioAgentSendsIt() {
        Struct meta = node().getMetadata();
        assertEquals("bar", field(meta, "FOO"));
        assertEquals("30m", field(meta, "IDLE_TIMEOUT"), "pilot's fallback idle timeout of tcp_proxy filters");
        assertEquals(OWNER, field(meta, "OWNER"));
        assertEquals("istio-ingressgateway", field(meta, "WORKLOAD_NAME"));
        assertFalse(meta.containsFields(""), "ISTIO_META_ alone names no field");
        assertFalse(meta.containsFields("PATH"));
        assertEquals("b", field(meta, "a"), "ISTIO_METAJSON_*: the object's fields, the variable's name ignored");
        assertFalse(meta.containsFields("METAJSON_ANNOTATIONS"));
        assertFalse(meta.containsFields("ANNOTATIONS"));
    }

    @Test
    void theGatewaysOwnFieldsWinOverTheEnvironments() {
        Struct meta = node().getMetadata();
        assertEquals("istio-system", field(meta, "NAMESPACE"), "mesh.gateway.node.namespace, not ISTIO_META_NAMESPACE");
        assertEquals("router", field(meta, "NODE_TYPE"));
        assertEquals(Map.of("istio", "ingressgateway"), meta.getFieldsOrThrow("LABELS").getStructValue().getFieldsMap()
                .entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
                        e -> e.getValue().getStringValue())), "LABELS stays the node's labels (never JSON-parsed from env)");
    }

    @Test
    void theMetadataExchangeSendsTheNodesOwnerToPeers() throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/headers")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        String value = r.body().lines().filter(l -> l.startsWith(MetadataExchangeTest.MX + ": ")).findFirst()
                .orElseThrow(() -> new AssertionError("no metadata upstream: " + r.body()))
                .substring(MetadataExchangeTest.MX.length() + 2);
        Struct sent = Struct.parseFrom(Base64.getDecoder().decode(value));
        assertEquals(OWNER, field(sent, "OWNER"));
        assertEquals("istio-system", field(sent, "NAMESPACE"));
        assertTrue(!sent.containsFields("FOO"), "only Istio's peer fields are exchanged");
    }
}
