package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.testing.FreePorts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Gateway servers that terminate TLS beyond credentialName's HTTPS, in the form pilot sends them:
 * <ul>
 * <li>ISTIO_MUTUAL (an east-west or egress gateway's mesh port): the gateway's own citadel certificate (SDS
 * {@code default}), client certificates required and verified against the mesh's roots (SDS {@code ROOTCA}), with
 * subjectAltNames narrowing them to named workloads; the certificate rotates without a new listener;</li>
 * <li>TLS servers (SIMPLE with a credential, or ISTIO_MUTUAL) that terminate TLS and send the decrypted stream to
 * their tcp route's cluster.</li>
 * </ul>
 * Clients: curl and openssl s_client with a workload certificate from the test's citadel, with none, and with one from
 * another CA.
 */
class GatewayTlsServersTest {

    static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-eastwestgateway";
    static final String REPORTING = "spiffe://cluster.local/ns/demo/sa/reporting";

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Path dir;
    static TestCitadel ca;
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static Path root;
    static int meshHttps;
    static int meshHttpsNamed;
    static int tlsTcp;
    static int meshTcp;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("gateway-tls-servers");
        TlsTermination.dir = dir;
        ca = MESH.closing(new TestCitadel(Map.of("gateway-token", GATEWAY_ID)));
        ca.ttl = Duration.ofSeconds(6);
        root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "gateway-token\n");
        client("reporting", ca.workload(REPORTING));
        client("billing", ca.workload("spiffe://cluster.local/ns/demo/sa/billing"));
        String[] stranger = TlsTermination.cert("stranger.example");
        Files.writeString(dir.resolve("stranger.crt"), stranger[0]);
        Files.writeString(dir.resolve("stranger.key"), stranger[1]);
        String[] db = TlsTermination.cert("db.example");   // writes db.example.crt, the credential's certificate

        web = MESH.backend("web");
        pilot = MESH.pilot();
        meshHttps = FreePorts.next();
        meshHttpsNamed = FreePorts.next();
        tlsTcp = FreePorts.next();
        meshTcp = FreePorts.next();
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(https("mesh-https", meshHttps, meshTls(List.of())),
                        https("mesh-https-named", meshHttpsNamed, meshTls(List.of(REPORTING))),
                        tcp("tls-tcp", tlsTcp, "db.example", DownstreamTlsContext.newBuilder().setCommonTlsContext(
                                CommonTlsContext.newBuilder().addTlsCertificateSdsSecretConfigs(sds("kubernetes://db"))).build()),
                        tcp("mesh-tcp", meshTcp, null, meshTls(List.of()))),
                List.of(Xds.routes("https.443", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))),
                List.of(Xds.secret("kubernetes://db", db[0], db[1])));
        gw = MESH.startGateway(Map.of("mesh.gateway.ca.address", ca.address(),
                "mesh.gateway.ca.token-file", token.toString(), "mesh.gateway.ca.root-cert-file", root.toString(),
                "mesh.gateway.xds.tls", "false"));
        // Ready as /healthz/ready says it: the config, and the first workload certificate (the listeners' own).
        await().atMost(Duration.ofSeconds(20)).until(() -> identity().isReady());
    }

    static void client(String name, TestCitadel.Issued issued) throws Exception {
        Files.writeString(dir.resolve(name + ".crt"), issued.chainPem());
        Files.writeString(dir.resolve(name + ".key"), issued.keyPem());
    }

    static SdsSecretConfig sds(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(Xds.ADS).build();
    }

    /** ISTIO_MUTUAL as pilot writes it: SDS default, ROOTCA (combined with the subjectAltNames when there are some). */
    static DownstreamTlsContext meshTls(List<String> sans) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder().addTlsCertificateSdsSecretConfigs(sds("default"));
        if (sans.isEmpty()) {
            common.setValidationContextSdsSecretConfig(sds("ROOTCA"));
        } else {
            CertificateValidationContext.Builder names = CertificateValidationContext.newBuilder();
            sans.forEach(n -> names.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(n)));
            common.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                    .setDefaultValidationContext(names).setValidationContextSdsSecretConfig(sds("ROOTCA")));
        }
        return DownstreamTlsContext.newBuilder().setRequireClientCertificate(BoolValue.of(true))
                .setCommonTlsContext(common).build();
    }

    static TransportSocket socket(DownstreamTlsContext tls) {
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)).build();
    }

    static Listener https(String name, int port, DownstreamTlsContext tls) {
        Listener l = Xds.httpListener(name, port, "https.443");
        tls = tls.toBuilder().setCommonTlsContext(tls.getCommonTlsContext().toBuilder()
                .addAlpnProtocols("h2").addAlpnProtocols("http/1.1")).build();
        return l.toBuilder().setFilterChains(0, l.getFilterChains(0).toBuilder().setTransportSocket(socket(tls))).build();
    }

    /** A Gateway TLS server that terminates TLS for a tcp route to the web backend (its bytes: plain HTTP). */
    static Listener tcp(String name, int port, String sni, DownstreamTlsContext tls) {
        FilterChain.Builder chain = FilterChain.newBuilder().setTransportSocket(socket(tls))
                .addFilters(Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
                        TcpProxy.newBuilder().setStatPrefix("web").setCluster("web").build())));
        if (sni != null) {
            chain.setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(sni));
        }
        return Listener.newBuilder().setName(name).setAddress(Xds.address("127.0.0.1", port))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                .addFilterChains(chain).build();
    }

    /** curl's body and status ("000": no response, the handshake failed), with a client certificate if any. */
    static String curl(int port, String host, String client, String... trust) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "--resolve", host + ":" + port + ":127.0.0.1",
                "-w", " %{http_code}"));
        cmd.addAll(trust.length == 0 ? List.of("-k") : List.of(trust));
        if (client != null) {
            cmd.addAll(List.of("--cert", dir.resolve(client + ".crt").toString(), "--key", dir.resolve(client + ".key").toString()));
        }
        cmd.add("https://" + host + ":" + port + "/");
        return Run.run(cmd, null).strip();
    }

    /** The certificate the gateway presents on {@code port} to openssl with the reporting workload's certificate. */
    static X509Certificate served(int port) throws Exception {
        String out = Run.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-CAfile", root.toString(),
                "-cert", dir.resolve("reporting.crt").toString(), "-key", dir.resolve("reporting.key").toString()), "");
        assertTrue(out.contains("Verify return code: 0 (ok)"), "the gateway's chain ends at the mesh root: " + out);
        int begin = out.indexOf("-----BEGIN CERTIFICATE-----");
        int end = out.indexOf("-----END CERTIFICATE-----", begin);
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(
                out.substring(begin, end + "-----END CERTIFICATE-----".length()).getBytes(StandardCharsets.UTF_8)));
    }

    static WorkloadIdentity identity() {
        return gw.gateway.identity().orElseThrow();
    }

    @Test
    void istioMutualServesTheGatewaysMeshCertificateAndRequiresAClientFromTheMesh() throws Exception {
        assertEquals("web 200", curl(meshHttps, "web.example", "reporting"));
        assertEquals("web 200", curl(meshHttps, "web.example", "billing"));
        assertTrue(curl(meshHttps, "web.example", null).endsWith("000"), "no client certificate: the handshake fails");
        assertTrue(curl(meshHttps, "web.example", "stranger").endsWith("000"), "a certificate from another CA: refused");
        X509Certificate served = served(meshHttps);
        assertEquals(Optional.of(GATEWAY_ID), WorkloadIdentity.spiffeIdOf(served), "the gateway's own SPIFFE identity");
    }

    @Test
    void istioMutualSubjectAltNamesLetInOnlyTheNamedWorkloads() throws Exception {
        assertEquals("web 200", curl(meshHttpsNamed, "web.example", "reporting"));
        assertTrue(curl(meshHttpsNamed, "web.example", "billing").endsWith("000"), "from the mesh, but not named: refused");
    }

    @Test
    void theRotatedMeshCertificateIsServedToNewConnectionsWithoutANewListener() throws Exception {
        String before = served(meshHttps).getSerialNumber().toString(16);
        // Certificates live six seconds here and rotate at half-life.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() ->
                !identity().current().orElseThrow().leaf().getSerialNumber().toString(16).equals(before));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(500)).until(() ->
                served(meshHttps).getSerialNumber().equals(identity().current().orElseThrow().leaf().getSerialNumber()));
        assertEquals("web 200", curl(meshHttps, "web.example", "reporting"));
    }

    /**
     * The admin port's /certs (what meshctl proxy-config secret shows): the gateway's own certificate as citadel issued
     * it (default), the mesh roots (ROOTCA), and the SDS credential pilot sent, in Envoy's CertificateDetails.
     */
    @Test
    void theAdminPortShowsTheWorkloadCertificateTheRootsAndTheCredentialsCertificates() throws Exception {
        // The certificate rotates every three seconds: /certs shows the one the identity holds at that moment.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
            String serial = identity().current().orElseThrow().leaf().getSerialNumber().toString(16);
            JsonObject own = named(certs(), "default");
            return serial.equals(own.getJsonArray("cert_chain").getJsonObject(0).getString("serial_number"));
        });
        JsonObject certs = certs();
        JsonObject own = named(certs, "default").getJsonArray("cert_chain").getJsonObject(0);
        assertEquals(new JsonArray().add(new JsonObject().put("uri", GATEWAY_ID)), own.getJsonArray("subject_alt_names"));
        assertEquals("0", own.getString("days_until_expiration"), "six-second certificates");
        assertTrue(Instant.parse(own.getString("valid_from")).isBefore(Instant.parse(own.getString("expiration_time"))));

        JsonArray roots = named(certs, "ROOTCA").getJsonArray("ca_cert");
        assertEquals(ca.root.getSerialNumber().toString(16), roots.getJsonObject(0).getString("serial_number"));

        X509Certificate db = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(dir.resolve("db.example.crt")));
        JsonObject credential = named(certs, "kubernetes://db").getJsonArray("cert_chain").getJsonObject(0);
        assertEquals(db.getSerialNumber().toString(16), credential.getString("serial_number"));
        assertEquals(new JsonArray().add(new JsonObject().put("dns", "db.example")), credential.getJsonArray("subject_alt_names"));
        assertEquals(db.getNotAfter().toInstant(), Instant.parse(credential.getString("expiration_time")));
        assertFalse(certs.encode().contains("PRIVATE KEY"), "no key is shown");
    }

    static JsonObject certs() throws Exception {
        return new JsonObject(Run.run(List.of("curl", "-s", "-m", "5", "http://127.0.0.1:" + gw.gateway.adminPort() + "/certs"), null));
    }

    static JsonObject named(JsonObject certs, String name) {
        return certs.getJsonArray("certificates").stream().map(JsonObject.class::cast)
                .filter(c -> name.equals(c.getString("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + certs.encodePrettily()));
    }

    @Test
    void aTlsServerTerminatesWithItsCredentialAndSendsTheDecryptedStreamToItsTcpRoute() throws Exception {
        // curl verifies the credential's certificate for db.example; the backend gets plain HTTP from the gateway.
        assertEquals("web 200", curl(tlsTcp, "db.example", null, "--cacert", dir.resolve("db.example.crt").toString()));
        assertTrue(curl(tlsTcp, "other.example", null).endsWith("000"), "no chain for the name: closed");
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
    }

    @Test
    void anIstioMutualTlsServerRequiresAMeshClientBeforeAnyByteGoesUpstream() throws Exception {
        assertEquals("web 200", curl(meshTcp, "web.example", "reporting"));
        assertTrue(curl(meshTcp, "web.example", null).endsWith("000"), "no client certificate: closed");
        assertTrue(curl(meshTcp, "web.example", "stranger").endsWith("000"), "a certificate from another CA: closed");
    }
}
