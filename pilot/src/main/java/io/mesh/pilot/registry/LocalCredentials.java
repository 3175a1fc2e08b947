package io.mesh.pilot.registry;

import io.mesh.pilot.model.CredentialSource;
import io.mesh.pilot.model.TlsCredential;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Local mode's gateway certificates: NAME.crt and NAME.key (and optionally NAME-cacert.crt) in a folder, for a
 * Gateway server with {@code credentialName: NAME}. The folder stands for the credentials namespace, and a subfolder
 * NAMESPACE for another namespace: a Gateway API Gateway's certificateRef to Secret NAME of namespace NS is
 * {@code NS/NAME.crt} (for NS the credentials namespace, also the folder's own {@code NAME.crt}), served as
 * {@code kubernetes-gateway://NS/NAME}. Key material is read, never logged.
 */
public final class LocalCredentials implements CredentialSource {
    private static final Logger LOG = Logger.getLogger(LocalCredentials.class);
    private final Path dir;
    private final String credentialsNamespace;

    public LocalCredentials(Path dir) {
        this(dir, "istio-system");
    }

    public LocalCredentials(Path dir, String credentialsNamespace) {
        this.dir = dir;
        this.credentialsNamespace = credentialsNamespace;
    }

    @Override
    public Map<String, TlsCredential> credentials() {
        Map<String, TlsCredential> out = new TreeMap<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        read(dir).forEach((name, c) -> {
            out.put(name, c);
            String gateway = TlsCredential.kubernetesGateway(credentialsNamespace, name);
            out.put(gateway, new TlsCredential(gateway, c.certificateChain(), c.privateKey(), c.caCertificate()));
        });
        try (Stream<Path> namespaces = Files.list(dir)) {
            for (Path ns : namespaces.filter(Files::isDirectory).toList()) {
                read(ns).forEach((name, c) -> {
                    String gateway = TlsCredential.kubernetesGateway(ns.getFileName().toString(), name);
                    out.put(gateway, new TlsCredential(gateway, c.certificateChain(), c.privateKey(),
                            c.caCertificate()));
                });
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.warnf("cannot read credentials in %s: %s", dir, e.getMessage());
        }
        return out;
    }

    /** The certificates of one folder, by file name (NAME of NAME.crt). */
    private static Map<String, TlsCredential> read(Path dir) {
        Map<String, TlsCredential> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path crt : files.filter(p -> p.toString().endsWith(".crt") && !p.toString().endsWith("-cacert.crt"))
                    .toList()) {
                String name = crt.getFileName().toString().replaceFirst("\\.crt$", "");
                Path key = dir.resolve(name + ".key");
                Path ca = dir.resolve(name + "-cacert.crt");
                if (!Files.exists(key)) {
                    LOG.warnf("credential %s has %s but no %s", name, crt.getFileName(), key.getFileName());
                    continue;
                }
                out.put(name, new TlsCredential(name, Files.readString(crt), Files.readString(key),
                        Files.exists(ca) ? Files.readString(ca) : null));
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.warnf("cannot read credentials in %s: %s", dir, e.getMessage());
        }
        return out;
    }
}
