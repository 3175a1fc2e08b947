package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.testing.FreePorts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Istio's MUTUAL and OPTIONAL_MUTUAL gateway servers, in the form pilot sends them (require_client_certificate and
 * the CA secret "kubernetes://NAME-cacert" over SDS): a client certificate from that CA is required, or verified when
 * sent; one from another CA is refused in both. Client: curl with and without a certificate.
 */
class ClientCertificateTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int mutual;
    static int optional;
    /** MUTUAL with subjectAltNames: only alice's certificate, of the two the partners' CA signed. */
    static int named;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("gateway-mtls");
        web = MESH.backend("web");
        ca("partners");
        ca("strangers");
        leaf("server", "api.example", "partners");
        leaf("alice", "alice.partners.example", "partners");
        leaf("bob", "bob.partners.example", "partners");
        leaf("mallory", "mallory.example", "strangers");
        pilot = MESH.pilot();
        mutual = FreePorts.next();
        optional = FreePorts.next();
        named = FreePorts.next();
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(listener("mutual", mutual, true), listener("optional", optional, false), namedListener()),
                List.of(Xds.routes("https.443", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))),
                List.of(Xds.secret("kubernetes://api", read("server.crt"), read("server.key")),
                        Secret.newBuilder().setName("kubernetes://api-cacert").setValidationContext(
                                CertificateValidationContext.newBuilder().setTrustedCa(
                                        io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                                .setInlineString(read("partners.crt")))).build()));
        gw = MESH.startGateway(Map.of());
    }

    /** A server of a Gateway with credentialName "api", as pilot writes it: MUTUAL requires, OPTIONAL_MUTUAL asks. */
    static Listener listener(String name, int port, boolean require) throws Exception {
        Listener l = Xds.httpsListener(name, port, List.<String[]>of(new String[] {"api.example", "kubernetes://api", "https.443"}));
        DownstreamTlsContext tls = l.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class)
                .toBuilder().setRequireClientCertificate(BoolValue.of(require)).build();
        tls = tls.toBuilder().setCommonTlsContext(tls.getCommonTlsContext().toBuilder().setValidationContextSdsSecretConfig(
                SdsSecretConfig.newBuilder().setName("kubernetes://api-cacert").setSdsConfig(Xds.ADS))).build();
        var chain = l.getFilterChains(0).toBuilder();
        chain.getTransportSocketBuilder().setTypedConfig(Any.pack(tls));
        return l.toBuilder().setFilterChains(0, chain).build();
    }

    /** MUTUAL with subjectAltNames [alice.partners.example], as pilot writes it: a combined validation context. */
    static Listener namedListener() throws Exception {
        Listener l = listener("named", named, true);
        DownstreamTlsContext tls = l.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        var common = tls.getCommonTlsContext().toBuilder().clearValidationContextSdsSecretConfig()
                .setCombinedValidationContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext
                        .CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(CertificateValidationContext.newBuilder().addMatchSubjectAltNames(
                                io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact("alice.partners.example")))
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder()
                                .setName("kubernetes://api-cacert").setSdsConfig(Xds.ADS)));
        var chain = l.getFilterChains(0).toBuilder();
        chain.getTransportSocketBuilder().setTypedConfig(Any.pack(tls.toBuilder().setCommonTlsContext(common).build()));
        return l.toBuilder().setFilterChains(0, chain).build();
    }

    static String read(String file) throws Exception {
        return Files.readString(dir.resolve(file));
    }

    static void ca(String name) throws Exception {
        Run.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".crt").toString(),
                "-days", "1", "-subj", "/CN=" + name + " CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign"), null);
    }

    static void leaf(String name, String dns, String ca) throws Exception {
        leaf(name, dns, "DNS:" + dns, ca);
    }

    /** A leaf NAME.crt/NAME.key of CN {@code cn} with these subjectAltNames (openssl's syntax), signed by {@code ca}. */
    static void leaf(String name, String cn, String sans, String ca) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Path ext = dir.resolve(name + ".ext");
        Files.writeString(ext, "subjectAltName=" + sans + "\n");
        Run.run(List.of("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn), null);
        Run.run(List.of("openssl", "x509", "-req", "-in", csr.toString(), "-CA", dir.resolve(ca + ".crt").toString(),
                "-CAkey", dir.resolve(ca + ".key").toString(), "-CAcreateserial", "-days", "1",
                "-extfile", ext.toString(), "-out", dir.resolve(name + ".crt").toString()), null);
    }

    /** curl's HTTP status ("000": no response, the handshake failed) and body, with the client certificate if any. */
    static String curl(int port, String client) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-k", "--resolve",
                "api.example:" + port + ":127.0.0.1", "-w", " %{http_code}"));
        if (client != null) {
            cmd.addAll(List.of("--cert", dir.resolve(client + ".crt").toString(), "--key", dir.resolve(client + ".key").toString()));
        }
        cmd.add("https://api.example:" + port + "/");
        return Run.run(cmd, null).strip();
    }

    @Test
    void mutualRequiresAClientCertificateFromTheCredentialsCa() throws Exception {
        assertEquals("web 200", curl(mutual, "alice"));
        assertTrue(curl(mutual, null).endsWith("000"), "no certificate: the handshake fails");
        assertTrue(curl(mutual, "mallory").endsWith("000"), "a certificate from another CA: refused");
    }

    @Test
    void optionalMutualVerifiesACertificateOnlyWhenOneIsSent() throws Exception {
        assertEquals("web 200", curl(optional, null));
        assertEquals("web 200", curl(optional, "alice"));
        assertTrue(curl(optional, "mallory").endsWith("000"), "a certificate from another CA: refused");
    }

    @Test
    void serversWithAndWithoutClientCertificatesOnOnePortAreNackedWithTheReason() throws Exception {
        Listener mixed = Xds.httpsListener("mixed", FreePorts.next(), List.<String[]>of(
                new String[] {"api.example", "kubernetes://api", "https.443"},
                new String[] {"www.example", "kubernetes://api", "https.443"}));
        Listener withMutual = listener("x", 1, true);
        mixed = mixed.toBuilder().setFilterChains(0, mixed.getFilterChains(0).toBuilder()
                .setTransportSocket(withMutual.getFilterChains(0).getTransportSocket())).build();
        int before = pilot.nacks().size();
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(listener("mutual", mutual, true), listener("optional", optional, false), namedListener(), mixed),
                List.of(Xds.routes("https.443", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))),
                List.of(Xds.secret("kubernetes://api", read("server.crt"), read("server.key")),
                        Secret.newBuilder().setName("kubernetes://api-cacert").setValidationContext(
                                CertificateValidationContext.newBuilder().setTrustedCa(
                                        io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                                .setInlineString(read("partners.crt")))).build()));
        await().atMost(Duration.ofSeconds(10)).until(() -> pilot.nacks().size() > before);
        String detail = pilot.nacks().get(pilot.nacks().size() - 1).getErrorDetail().getMessage();
        assertTrue(detail.contains("listener mixed") && detail.contains("differ in client certificates"), detail);
        assertEquals("web 200", curl(mutual, "alice"), "the last good config keeps serving");
    }

    @Test
    void subjectAltNamesLetInOnlyTheNamedClientsOfTheCa() throws Exception {
        assertEquals("web 200", curl(named, "alice"));
        assertTrue(curl(named, "bob").endsWith("000"), "signed by the CA, but not a name on the list: refused");
        assertTrue(curl(named, null).endsWith("000"));
    }
}
