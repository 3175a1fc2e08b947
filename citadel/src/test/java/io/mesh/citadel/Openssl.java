package io.mesh.citadel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real openssl command line, the peer these tests check the CA's output against. */
public final class Openssl {

    public record Result(int exitCode, String output) {
    }

    private Openssl() {
    }

    public static Result run(Path dir, String... args) {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail("openssl " + String.join(" ", args) + " did not finish");
            }
            return new Result(process.exitValue(), output);
        } catch (IOException e) {
            throw new AssertionError("openssl could not be run: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs openssl and fails the test unless it exits 0; returns its output. */
    public static String ok(Path dir, String... args) {
        Result result = run(dir, args);
        assertEquals(0, result.exitCode(), "openssl " + String.join(" ", args) + " failed:\n" + result.output());
        return result.output();
    }

    /**
     * A plug-in CA the way Istio's docs have operators make one: a root and an intermediate signed by it, written
     * in the cacerts layout into {@code dir}. Returns dir.
     */
    public static Path pluginCa(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("ext.cnf"), """
                [req]
                distinguished_name = dn
                [dn]
                [root]
                basicConstraints = critical, CA:true
                keyUsage = critical, keyCertSign, cRLSign, digitalSignature
                subjectKeyIdentifier = hash
                [intermediate]
                basicConstraints = critical, CA:true, pathlen:0
                keyUsage = critical, keyCertSign, cRLSign, digitalSignature
                subjectKeyIdentifier = hash
                authorityKeyIdentifier = keyid:always
                """);
        ok(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root-key.pem");
        ok(dir, "req", "-x509", "-new", "-key", "root-key.pem", "-subj", "/O=cluster.local/CN=" + name + " root",
                "-days", "365", "-out", "root-cert.pem", "-config", "ext.cnf", "-extensions", "root");
        ok(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca-key.pem");
        ok(dir, "req", "-new", "-key", "ca-key.pem", "-subj", "/O=cluster.local/CN=" + name + " intermediate",
                "-out", "ca.csr", "-config", "ext.cnf");
        ok(dir, "x509", "-req", "-in", "ca.csr", "-CA", "root-cert.pem", "-CAkey", "root-key.pem",
                "-CAcreateserial", "-days", "180", "-out", "ca-cert.pem", "-extfile", "ext.cnf", "-extensions",
                "intermediate");
        Files.writeString(dir.resolve("cert-chain.pem"),
                Files.readString(dir.resolve("ca-cert.pem")) + Files.readString(dir.resolve("root-cert.pem")));
        return dir;
    }
}
