package io.mesh.gateway.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.model.TlsCertificate;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509KeyManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The certificate an HTTPS listener serves for an SNI name is its chain's as Envoy picks the chain: a Gateway with
 * a wildcard server ({@code *.shop.example}) listed before a specific one ({@code api.shop.example}) serves the
 * specific certificate to api.shop.example and the wildcard one to every other name under it.
 */
class SniKeyCertOptionsTest {
    static Vertx vertx;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        dir = Files.createTempDirectory("sni-certs");
    }

    @AfterAll
    static void stop() {
        vertx.close();
    }

    /** A self-signed EC certificate for {@code host}, made by openssl. */
    static TlsCertificate cert(String secret, String host) throws Exception {
        String file = secret.replaceAll("[^a-z]", "_");
        Path key = dir.resolve(file + ".key");
        Path crt = dir.resolve(file + ".crt");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key.toString(), "-out", crt.toString(), "-days", "1", "-subj", "/CN=" + host)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("openssl: " + out);
        }
        return new TlsCertificate(secret, Files.readString(crt), Files.readString(key));
    }

    static String served(SniKeyCertOptions options, String sni) {
        X509KeyManager km = options.keyManagerMapper(vertx).apply(sni);
        String alias = km.chooseServerAlias("EC", null, null);
        X509Certificate leaf = km.getCertificateChain(alias)[0];
        return leaf.getSubjectX500Principal().getName();
    }

    @Test
    void theSpecificServersCertificateWinsOverAWildcardListedFirst() throws Exception {
        Map<String, TlsCertificate> secrets = new HashMap<>();
        secrets.put("kubernetes://wildcard", cert("kubernetes://wildcard", "*.shop.example"));
        secrets.put("kubernetes://api", cert("kubernetes://api", "api.shop.example"));
        ListenerSpec listener = new ListenerSpec("0.0.0.0_443", "0.0.0.0", 443, List.of(
                new FilterChainSpec(List.of("*.shop.example"), "kubernetes://wildcard", "https.443", null, List.of()),
                new FilterChainSpec(List.of("api.shop.example"), "kubernetes://api", "https.443", null, List.of())));
        SniKeyCertOptions options = SniKeyCertOptions.of(vertx, listener, secrets, null);
        assertEquals("CN=api.shop.example", served(options, "api.shop.example"));
        assertEquals("CN=*.shop.example", served(options, "www.shop.example"));
        assertEquals("CN=*.shop.example", served(options, "other.example"), "no match, no nameless chain: the first");
    }
}
