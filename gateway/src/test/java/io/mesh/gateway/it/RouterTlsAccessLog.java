package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.testing.FreePorts;
import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Envoy's connection and TLS command operators and CEL connection attributes on a router, as a Gateway's MUTUAL and
 * OPTIONAL_MUTUAL HTTPS servers and a MUTUAL TLS server (tcp route) are sent by pilot: the client is openssl s_client
 * (two requests on one keep-alive connection, over TLS 1.3 and TLS 1.2) and curl (HTTP/2; no client certificate), with a
 * client certificate the test makes with openssl (a SPIFFE URI SAN and a DNS SAN). Each value in the line is checked
 * against what openssl says: the SANs and names the test wrote, the version and cipher openssl negotiated, the session id
 * it was given (TLS 1.2), the digests, serial and dates {@code openssl x509} prints, the PEM it wrote. A second access log
 * writes its line only when its CEL filter on the {@code connection.*} TLS attributes holds. Run once per TLS engine:
 * {@link RouterTlsAccessLogTest} (BoringSSL), {@link RouterTlsAccessLogJdkEngineTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RouterTlsAccessLog {

    static final String ALICE = "spiffe://partners.example/ns/app/sa/alice";
    static final Map<String, String> FORMAT = new LinkedHashMap<>();

    static {
        FORMAT.put("id", "%REQ(X-REQUEST-ID)%");
        FORMAT.put("conn", "%CONNECTION_ID%");
        FORMAT.put("port", "%DOWNSTREAM_LOCAL_PORT%");
        FORMAT.put("protocol", "%PROTOCOL%");
        FORMAT.put("sni", "%REQUESTED_SERVER_NAME%");
        FORMAT.put("peer_uri", "%DOWNSTREAM_PEER_URI_SAN%");
        FORMAT.put("peer_dns", "%DOWNSTREAM_PEER_DNS_SAN%");
        FORMAT.put("local_uri", "%DOWNSTREAM_LOCAL_URI_SAN%");
        FORMAT.put("local_dns", "%DOWNSTREAM_LOCAL_DNS_SAN%");
        FORMAT.put("peer_subject", "%DOWNSTREAM_PEER_SUBJECT%");
        FORMAT.put("local_subject", "%DOWNSTREAM_LOCAL_SUBJECT%");
        FORMAT.put("issuer", "%DOWNSTREAM_PEER_ISSUER%");
        FORMAT.put("version", "%DOWNSTREAM_TLS_VERSION%");
        FORMAT.put("cipher", "%DOWNSTREAM_TLS_CIPHER%");
        FORMAT.put("session", "%DOWNSTREAM_TLS_SESSION_ID%");
        FORMAT.put("sha256", "%DOWNSTREAM_PEER_FINGERPRINT_256%");
        FORMAT.put("sha1", "%DOWNSTREAM_PEER_FINGERPRINT_1%");
        FORMAT.put("serial", "%DOWNSTREAM_PEER_SERIAL%");
        FORMAT.put("start", "%DOWNSTREAM_PEER_CERT_V_START(%s)%");
        FORMAT.put("end", "%DOWNSTREAM_PEER_CERT_V_END%");
        FORMAT.put("cert", "%DOWNSTREAM_PEER_CERT%");
        FORMAT.put("upstream_protocol", "%UPSTREAM_PROTOCOL%");
        FORMAT.put("upstream_tls", "%UPSTREAM_TLS_VERSION%");
    }

    final RouterFixture mesh = new RouterFixture();
    final AccessLogCapture capture = new AccessLogCapture();
    Path dir;
    int mutual;
    int optional;
    int tcp;
    /** alice.crt's SHA-256 fingerprint as openssl prints it, lower case without colons. */
    String sha256;

    abstract Map<String, String> engineSettings();

    @BeforeAll
    void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(capture);
        dir = Files.createTempDirectory("router-tls-access-log");
        ClientCertificateTest.dir = dir;
        ClientCertificateTest.ca("partners");
        ClientCertificateTest.leaf("server", "api.example", "partners");
        ClientCertificateTest.leaf("alice", "alice.partners.example", "URI:" + ALICE + ",DNS:alice.partners.example",
                "partners");
        sha256 = x509("alice", "-fingerprint", "-sha256").replace(":", "").toLowerCase(Locale.ROOT);
        String cel = "connection.uri_san_peer_certificate == '" + ALICE + "'"
                + " && connection.dns_san_peer_certificate == 'alice.partners.example'"
                + " && connection.subject_peer_certificate == 'CN=alice.partners.example'"
                + " && connection.dns_san_local_certificate == 'api.example'"
                + " && connection.subject_local_certificate == 'CN=api.example'"
                + " && !has(connection.uri_san_local_certificate)"
                + " && connection.sha256_peer_certificate_digest == '" + sha256 + "'"
                + " && connection.tls_version == 'TLSv1.3' && connection.id > 0";
        Backend web = mesh.backend("web");
        mutual = FreePorts.next();
        optional = FreePorts.next();
        tcp = FreePorts.next();
        mesh.pilot().set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(logged(ClientCertificateTest.listener("mutual", mutual, true), cel),
                        logged(ClientCertificateTest.listener("optional", optional, false), cel), tcpListener()),
                List.of(Xds.routes("https.443", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))),
                List.of(Xds.secret("kubernetes://api", read("server.crt"), read("server.key")),
                        Secret.newBuilder().setName("kubernetes://api-cacert").setValidationContext(
                                CertificateValidationContext.newBuilder().setTrustedCa(
                                        DataSource.newBuilder().setInlineString(read("partners.crt")))).build()));
        mesh.startGateway(engineSettings());
    }

    @AfterAll
    void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(capture);
        mesh.close();
    }

    String read(String file) throws Exception {
        return Files.readString(dir.resolve(file));
    }

    /** {@code l} whose HCM writes the JSON line above, and a text line only when {@code cel} holds. */
    static Listener logged(Listener l, String cel) throws Exception {
        FilterChain chain = l.getFilterChains(0);
        HttpConnectionManager hcm = chain.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class).toBuilder()
                .addAccessLog(AccessLogFormatsTest.log(AccessLogFormatsTest.json(FORMAT)))
                .addAccessLog(AccessLogFormatsTest.filtered(AccessLogFormatsTest.log(AccessLogFormatsTest.text(
                        "cel %REQ(X-REQUEST-ID)% %CONNECTION_ID%\n")), cel))
                .build();
        return l.toBuilder().setFilterChains(0, chain.toBuilder().setFilters(0, chain.getFilters(0).toBuilder()
                .setTypedConfig(Any.pack(hcm)))).build();
    }

    /** A MUTUAL TLS server for api.example whose tcp route goes to web; its line only when the peer is alice. */
    Listener tcpListener() {
        DownstreamTlsContext tls = DownstreamTlsContext.newBuilder().setRequireClientCertificate(BoolValue.of(true))
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addTlsCertificateSdsSecretConfigs(GatewayTlsServersTest.sds("kubernetes://api"))
                        .setValidationContextSdsSecretConfig(GatewayTlsServersTest.sds("kubernetes://api-cacert"))).build();
        Listener l = GatewayTlsServersTest.tcp("tls-tcp", tcp, "api.example", tls);
        FilterChain chain = l.getFilterChains(0);
        Filter proxy = chain.getFilters(0);
        TcpProxy withLog;
        try {
            withLog = proxy.getTypedConfig().unpack(TcpProxy.class).toBuilder().addAccessLog(AccessLogFormatsTest.filtered(
                    AccessLogFormatsTest.log(AccessLogFormatsTest.json(FORMAT)),
                    "connection.uri_san_peer_certificate == '" + ALICE + "' && connection.id > 0")).build();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        return l.toBuilder().setFilterChains(0, chain.toBuilder().setFilters(0, proxy.toBuilder()
                .setTypedConfig(Any.pack(withLog)))).build();
    }

    /** What {@code openssl x509} prints for NAME.crt with these options, after the {@code =}. */
    String x509(String name, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "x509", "-in", dir.resolve(name + ".crt").toString(),
                "-noout"));
        cmd.addAll(List.of(options));
        String out = Run.run(cmd, null).strip();
        return out.substring(out.indexOf('=') + 1);
    }

    /** openssl s_client's output for {@code requests} sent on one connection (as alice when {@code cert}). */
    String sClient(int port, boolean cert, String requests, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("timeout", "20", "openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "api.example", "-CAfile", dir.resolve("partners.crt").toString(), "-ign_eof"));
        if (cert) {
            cmd.addAll(List.of("-cert", dir.resolve("alice.crt").toString(), "-key", dir.resolve("alice.key").toString()));
        }
        cmd.addAll(List.of(options));
        return Run.run(cmd, requests);
    }

    static String get(String id, boolean last) {
        return "GET /" + id + " HTTP/1.1\r\nHost: api.example\r\nx-request-id: " + id + "\r\n"
                + (last ? "Connection: close\r\n" : "") + "\r\n";
    }

    /** The negotiated version and cipher, as openssl's "New, TLSv1.3, Cipher is ..." line says. */
    static String[] negotiated(String out) {
        Matcher m = Pattern.compile("New, (TLSv[0-9.]+), Cipher is (\\S+)").matcher(out);
        assertTrue(m.find(), out);
        return new String[] {m.group(1), m.group(2)};
    }

    JsonObject line(Predicate<JsonObject> which) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> json().stream().anyMatch(which));
        return json().stream().filter(which).findFirst().orElseThrow();
    }

    JsonObject line(String id) {
        return line(j -> id.equals(j.getString("id")));
    }

    private List<JsonObject> json() {
        return capture.lines.stream().filter(l -> l.startsWith("{")).map(JsonObject::new).toList();
    }

    boolean celLine(String id, long conn) {
        return capture.lines.contains("cel " + id + " " + conn);
    }

    /** The values every line of alice's certificate has, each as openssl printed it. */
    void assertAlicesCertificate(JsonObject l) throws Exception {
        assertEquals(ALICE, l.getString("peer_uri"), l.encode());
        assertEquals("alice.partners.example", l.getString("peer_dns"));
        assertEquals("CN=alice.partners.example", l.getString("peer_subject"));
        assertEquals("CN=partners CA", l.getString("issuer"));
        assertEquals("api.example", l.getString("local_dns"));
        assertEquals("CN=api.example", l.getString("local_subject"));
        assertNull(l.getString("local_uri"), "the server certificate has no URI SAN");
        assertEquals(sha256, l.getString("sha256"));
        assertEquals(x509("alice", "-fingerprint", "-sha1").replace(":", "").toLowerCase(Locale.ROOT), l.getString("sha1"));
        assertEquals(x509("alice", "-serial").toLowerCase(Locale.ROOT), l.getString("serial"));
        DateTimeFormatter openssl = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss yyyy zzz", Locale.ENGLISH);
        Instant notBefore = ZonedDateTime.parse(x509("alice", "-startdate"), openssl).toInstant();
        Instant notAfter = ZonedDateTime.parse(x509("alice", "-enddate"), openssl).toInstant();
        assertEquals(Long.toString(notBefore.getEpochSecond()), l.getString("start"));
        assertEquals(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC)
                .format(notAfter), l.getString("end"));
        assertEquals(read("alice.crt"), URLDecoder.decode(l.getString("cert"), StandardCharsets.UTF_8));
        assertTrue(l.getString("cert").startsWith("-----BEGIN%20CERTIFICATE-----%0A"), l.getString("cert"));
    }

    @Test
    void twoRequestsOnOneTls13ConnectionShareItsIdAndLogTheClientCertificateAndWhatWasNegotiated() throws Exception {
        String out = sClient(mutual, true, get("k1", false) + get("k2", true), "-tls1_3");
        String[] tls = negotiated(out);
        assertEquals("TLSv1.3", tls[0], out);
        JsonObject first = line("k1");
        JsonObject second = line("k2");
        assertAlicesCertificate(first);
        assertAlicesCertificate(second);
        assertEquals(first.getLong("conn"), second.getLong("conn"), "one connection, one id");
        assertEquals("TLSv1.3", first.getString("version"));
        assertEquals(tls[1], first.getString("cipher"), "TLS 1.3's RFC name, as BoringSSL's and openssl's");
        assertEquals("api.example", first.getString("sni"));
        assertEquals("HTTP/1.1", first.getString("protocol"));
        assertEquals("HTTP/1.1", first.getString("upstream_protocol"));
        assertNull(first.getString("upstream_tls"), "the upstream is plaintext");
        assertEquals(mutual, first.getInteger("port"));
        // The filter on the connection's TLS attributes lets the second access log write both.
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> celLine("k1", first.getLong("conn"))
                && celLine("k2", first.getLong("conn")));

        String again = sClient(mutual, true, get("k3", true), "-tls1_3");
        negotiated(again);
        JsonObject other = line("k3");
        assertNotEquals(first.getLong("conn"), other.getLong("conn"), "another connection, another id");
        assertTrue(other.getLong("conn") > first.getLong("conn"), "ids increase");
    }

    @Test
    void aTls12ConnectionLogsOpensslsCipherNameAndTheSessionIdItWasGiven() throws Exception {
        // Without a session ticket the server names the session with an id of its own, which the client is given.
        String out = sClient(mutual, true, get("t12", true), "-tls1_2", "-no_ticket");
        String[] tls = negotiated(out);
        assertEquals("TLSv1.2", tls[0], out);
        JsonObject l = line("t12");
        assertAlicesCertificate(l);
        assertEquals("TLSv1.2", l.getString("version"));
        assertEquals(tls[1], l.getString("cipher"), "the OpenSSL name, as Envoy prints it: " + out);
        Matcher id = Pattern.compile("Session-ID: ([0-9A-F]+)").matcher(out);
        assertTrue(id.find(), out);
        assertEquals(id.group(1).toLowerCase(Locale.ROOT), l.getString("session"));
        assertFalse(celLine("t12", l.getLong("conn")), "the filter asks for TLSv1.3");
    }

    @Test
    void anHttp2RequestReadsItsConnectionsTlsAndOneWithoutAClientCertificateHasNoPeerValues() throws Exception {
        String h2 = Run.run(List.of("curl", "-s", "-m", "10", "--http2", "--cacert", dir.resolve("partners.crt").toString(),
                "--resolve", "api.example:" + mutual + ":127.0.0.1", "--cert", dir.resolve("alice.crt").toString(),
                "--key", dir.resolve("alice.key").toString(), "-H", "x-request-id: h2", "-o", "/dev/null", "-w",
                "%{http_version}", "https://api.example:" + mutual + "/"), null);
        assertEquals("2", h2.strip());
        JsonObject l = line("h2");
        assertEquals("HTTP/2", l.getString("protocol"));
        assertAlicesCertificate(l);
        assertTrue(l.getString("version").startsWith("TLSv1."), l.encode());

        String plain = Run.run(List.of("curl", "-s", "-m", "10", "--cacert", dir.resolve("partners.crt").toString(),
                "--resolve", "api.example:" + optional + ":127.0.0.1", "-H", "x-request-id: anonymous", "-o", "/dev/null",
                "-w", "%{http_code}", "https://api.example:" + optional + "/"), null);
        assertEquals("200", plain.strip());
        JsonObject anonymous = line("anonymous");
        for (String peer : List.of("peer_uri", "peer_dns", "peer_subject", "issuer", "sha256", "sha1", "serial", "start",
                "end", "cert")) {
            assertTrue(anonymous.containsKey(peer) && anonymous.getValue(peer) == null, peer + ": " + anonymous.encode());
        }
        assertEquals("api.example", anonymous.getString("local_dns"));
        assertTrue(anonymous.getString("version").startsWith("TLSv1."), anonymous.encode());
        assertFalse(celLine("anonymous", anonymous.getLong("conn")));
    }

    @Test
    void aTlsTerminatingTcpRouteLogsItsConnectionsTlsUnderAFilterOnThePeersUriSan() throws Exception {
        String out = sClient(tcp, true, get("tcp", true), "-tls1_3");
        String[] tls = negotiated(out);
        assertTrue(out.contains("HTTP/1.1 200"), "web answered through the relay: " + out);
        JsonObject l = line(j -> Integer.valueOf(tcp).equals(j.getInteger("port")));
        assertAlicesCertificate(l);
        assertEquals(tls[0], l.getString("version"));
        assertEquals(tls[1], l.getString("cipher"));
        assertEquals("api.example", l.getString("sni"));
        assertNull(l.getString("protocol"), "no HTTP on a tcp_proxy");
        assertNull(l.getString("upstream_protocol"));
        assertTrue(l.getLong("conn") > 0, l.encode());
    }
}
