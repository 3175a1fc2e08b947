package io.mesh.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Test certificates made by openssl (EC P-256, one day) in a folder: {@code NAME.crt} and {@code NAME.key}. */
final class OpensslCertificates {

    private final Path dir;

    OpensslCertificates(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    Path crt(String name) {
        return dir.resolve(name + ".crt");
    }

    Path key(String name) {
        return dir.resolve(name + ".key");
    }

    /** A self-signed CA, {@code CN=NAME CA}. */
    void ca(String name) throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key(name).toString(), "-out", crt(name).toString(),
                "-days", "1", "-subj", "/CN=" + name + " CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign");
    }

    /** A self-signed server certificate for {@code dns}, trusted by a client that has it as its only CA. */
    void selfSigned(String name, String dns) throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key(name).toString(), "-out", crt(name).toString(),
                "-days", "1", "-subj", "/CN=" + dns, "-addext", "subjectAltName=DNS:" + dns);
    }

    /** A client certificate for {@code dns} (its SAN and CN) signed by the CA {@code ca}. */
    void leaf(String name, String dns, String ca) throws Exception {
        signed(name, dns, ca, "clientAuth");
    }

    /** A server certificate for {@code dns} (its SAN and CN) signed by the CA {@code ca}. */
    void server(String name, String dns, String ca) throws Exception {
        signed(name, dns, ca, "serverAuth");
    }

    private void signed(String name, String dns, String ca, String usage) throws Exception {
        Path csr = dir.resolve(name + ".csr");
        Path ext = dir.resolve(name + ".ext");
        Files.writeString(ext, "subjectAltName=DNS:" + dns + "\nextendedKeyUsage=" + usage + "\n");
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key(name).toString(), "-out", csr.toString(), "-subj", "/CN=" + dns);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", crt(ca).toString(), "-CAkey", key(ca).toString(),
                "-CAcreateserial", "-days", "1", "-extfile", ext.toString(), "-out", crt(name).toString());
    }

    /** {@code NAME.p12}: the certificate and key as a PKCS#12 store with the password {@code changeit}. */
    Path pkcs12(String name) throws Exception {
        Path p12 = dir.resolve(name + ".p12");
        openssl("pkcs12", "-export", "-in", crt(name).toString(), "-inkey", key(name).toString(), "-out", p12.toString(),
                "-passout", "pass:changeit");
        return p12;
    }

    /** The subject of a certificate file, as "CN=NAME". */
    String subject(String name) throws Exception {
        return IngressClients.run(List.of("openssl", "x509", "-noout", "-subject", "-in", crt(name).toString()))
                .replaceFirst("^subject=", "").replace(" = ", "=").strip();
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl " + String.join(" ", args) + ": " + out);
    }
}
