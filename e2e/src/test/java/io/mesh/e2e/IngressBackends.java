package io.mesh.e2e;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * {@link IngressGatewayIT}'s backends on 127.0.0.1, each on a free port and saying who it is: a plain HTTP echo, HTTPS
 * servers with their own certificates (for TLS passthrough), and TCP echo servers. {@link #close} stops them all.
 */
final class IngressBackends implements AutoCloseable {

    private final OpensslCertificates certificates;
    private final List<String> webRequests = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> servers = new CopyOnWriteArrayList<>();

    IngressBackends(OpensslCertificates certificates) {
        this.certificates = certificates;
    }

    /** What the HTTP backend has been asked, "METHOD PATH" each, in order. */
    List<String> webRequests() {
        return webRequests;
    }

    /** How many OPTIONS requests the HTTP backend has seen. */
    int options() {
        return (int) webRequests.stream().filter(r -> r.startsWith("OPTIONS ")).count();
    }

    /**
     * The plain HTTP backend "web": answers "web METHOD PATH" with header x-served-by: web; when the request carries
     * them, " sub=" and the x-jwt-sub header (a claim the gateway copied from a JWT) and " authorization" (a token
     * that was forwarded) follow.
     */
    int http() throws IOException {
        int port = FreePorts.next();
        HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        web.createContext("/", exchange -> {
            String line = exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath();
            webRequests.add(line);
            String sub = exchange.getRequestHeaders().getFirst("x-jwt-sub");
            String answer = "web " + line + (sub == null ? "" : " sub=" + sub)
                    + (exchange.getRequestHeaders().containsKey("authorization") ? " authorization" : "");
            byte[] body = answer.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("x-served-by", "web");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(4);
        web.setExecutor(pool);
        web.start();
        servers.add(() -> {
            web.stop(0);
            pool.shutdownNow();
        });
        return port;
    }

    /**
     * A TLS server as a destination sidecar is one: openssl's (as BoringSSL in a sidecar, it takes the mesh's SNI,
     * {@code outbound_.PORT_._.HOST}, which the JDK's TLS refuses for its underscores), with {@code name}.crt.
     */
    int opensslTls(String name) throws Exception {
        int port = FreePorts.next();
        Process p = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-cert",
                certificates.crt(name).toString(), "-key", certificates.key(name).toString(), "-www")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        servers.add(p::destroy);
        org.awaitility.Awaitility.await("openssl s_server on " + port).atMost(java.time.Duration.ofSeconds(10))
                .pollInterval(java.time.Duration.ofMillis(100)).until(() -> {
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                        return true;
                    } catch (IOException notYet) {
                        return false;
                    }
                });
        return port;
    }

    /** An HTTPS backend with its own certificate ({@code name}.crt): answers "NAME METHOD PATH". */
    int tls(String name) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(certificates.pkcs12(name))) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        int port = FreePorts.next();
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", exchange -> {
            byte[] body = (name + " " + exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath())
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(2);
        server.setExecutor(pool);
        server.start();
        servers.add(() -> {
            server.stop(0);
            pool.shutdownNow();
        });
        return port;
    }

    /**
     * A TCP server that reads one line (or up to the client's end of input) and answers "NAME: LINE", then closes the
     * connection. Returns its port.
     */
    int tcpEcho(String name) throws IOException {
        int port = FreePorts.next();
        ServerSocket server = new ServerSocket(port, 128, InetAddress.getLoopbackAddress());
        ExecutorService pool = Executors.newCachedThreadPool();
        servers.add(() -> {
            server.close();
            pool.shutdownNow();
        });
        pool.execute(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    pool.execute(() -> answer(name, s));
                } catch (IOException closed) {
                    return;
                }
            }
        });
        return port;
    }

    private static void answer(String name, Socket s) {
        try (s) {
            s.setSoTimeout(10_000);
            StringBuilder line = new StringBuilder();
            InputStream in = s.getInputStream();
            for (int c = in.read(); c >= 0; c = in.read()) {
                line.append((char) c);
                if (c == '\n') {
                    break;
                }
            }
            s.getOutputStream().write((name + ": " + line).getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
        } catch (IOException e) {
            // the client went away: nothing to answer
        }
    }

    @Override
    public void close() {
        for (AutoCloseable s : servers) {
            try {
                s.close();
            } catch (Exception e) {
                // stopping the others anyway
            }
        }
    }
}
