package io.mesh.testing.netns;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The app's side of a pod, for a proxy that runs on the host (in the test JVM, or as a process): a network namespace
 * whose veth peer is in the host namespace, where an iptables rule redirects every TCP connection from that veth to
 * the proxy's capture port (as istio-iptables redirects a pod's connections to 15001 or 15006), so
 * {@code SO_ORIGINAL_DST} names where the app was going. The destinations ({@link #destinations}) are addresses on the
 * host's end of the veth: the proxy reaches them without being redirected, and the test's servers listen on them.
 * Every address is in the documentation range 198.51.100.0/24, a random /29 of .160-.199 that no interface has yet
 * (clear of the gateway's CaptureInNetworkNamespaceTest's /30s below .160 and its .200/30, and of e2e's SidecarMeshIT
 * below .110 and at .250); nothing leaves the machine. {@link #close} removes all of it. Needs root.
 */
public final class PodNamespace implements AutoCloseable {
    public final String name;
    public final String hostVeth;
    public final String hostIp;
    public final String podIp;
    public final List<String> destinations = new ArrayList<>();
    private final List<String> redirect;

    private PodNamespace(int id, int block, int capturePort) {
        name = "meshhl" + id;
        hostVeth = "mhh" + id;
        String prefix = "198.51.100.";
        hostIp = prefix + (block + 1);
        podIp = prefix + (block + 2);
        destinations.add(prefix + (block + 5));
        destinations.add(prefix + (block + 6));
        redirect = List.of("PREROUTING", "-i", hostVeth, "-p", "tcp", "-m", "comment", "--comment", name,
                "-j", "REDIRECT", "--to-ports", Integer.toString(capturePort));
    }

    /** Skips the test without root, unless {@code MESH_REQUIRE_ROOT_TESTS=1} (CI), which makes it fail instead. */
    public static void requireRoot() throws Exception {
        if (!"0".equals(run(List.of("id", "-u")).strip())) {
            if ("1".equals(System.getenv("MESH_REQUIRE_ROOT_TESTS"))) {
                fail("MESH_REQUIRE_ROOT_TESTS=1 but this user is not root: the test needs ip netns and iptables");
            }
            Assumptions.abort("skipped: needs root for ip netns and iptables (run as root, as CI does)");
        }
    }

    /** A pod namespace whose TCP connections go to {@code capturePort} on the host's end of its veth. */
    public static PodNamespace create(int capturePort) throws Exception {
        for (int attempt = 0; ; attempt++) {
            int block = 8 * ThreadLocalRandom.current().nextInt(20, 25);
            if (attempt < 20 && run(List.of("ip", "-4", "-o", "addr", "show")).contains("inet 198.51.100." + (block + 1) + "/")) {
                continue;   // another pod (a left-over one, or another test's) has this block
            }
            int id = ThreadLocalRandom.current().nextInt(100_000, 999_999);
            PodNamespace p = new PodNamespace(id, block, capturePort);
            try {
                String podVeth = "mhp" + id;
                check(List.of("ip", "netns", "add", p.name));
                check(List.of("ip", "-n", p.name, "link", "set", "lo", "up"));
                check(List.of("ip", "link", "add", p.hostVeth, "type", "veth", "peer", "name", podVeth));
                check(List.of("ip", "link", "set", podVeth, "netns", p.name));
                // The /30 first: REDIRECT sends to the primary address of the interface the connection came in on.
                check(List.of("ip", "addr", "add", p.hostIp + "/30", "dev", p.hostVeth));
                for (String d : p.destinations) {
                    check(List.of("ip", "addr", "add", d + "/32", "dev", p.hostVeth));
                }
                check(List.of("ip", "link", "set", p.hostVeth, "up"));
                check(List.of("ip", "-n", p.name, "addr", "add", p.podIp + "/30", "dev", podVeth));
                check(List.of("ip", "-n", p.name, "link", "set", podVeth, "up"));
                check(List.of("ip", "-n", p.name, "route", "add", "default", "via", p.hostIp));
                List<String> add = new ArrayList<>(List.of("iptables", "-t", "nat", "-A"));
                add.addAll(p.redirect);
                check(add);
                return p;
            } catch (Exception | AssertionError e) {
                p.close();
                throw e;
            }
        }
    }

    /** Runs a command in the pod (the app's side) and returns what it printed. */
    public String exec(List<String> command) throws Exception {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", name));
        all.addAll(command);
        return run(all);
    }

    /** Connects from the pod to {@code host:port}, sends one line and returns the first line answered ("" if none). */
    public String tcpLine(String host, int port, String line) throws Exception {
        return exec(List.of("timeout", "10", "bash", "-c", "exec 3<>/dev/tcp/" + host + "/" + port
                + " && echo " + line + " >&3 && head -n 1 <&3 2>/dev/null")).strip();
    }

    /** curl in the pod: the status of a GET of {@code url} ("000" when the connection is refused or closed). */
    public String curlStatus(String url) throws Exception {
        return exec(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url)).strip();
    }

    @Override
    public void close() {
        List<String> delete = new ArrayList<>(List.of("iptables", "-t", "nat", "-D"));
        delete.addAll(redirect);
        quietly(delete);
        quietly(List.of("ip", "netns", "del", name));   // takes the veth pair with it
        quietly(List.of("ip", "link", "del", hostVeth));
    }

    private static void check(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        if (p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + ": " + out);
        }
    }

    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream is = p.getInputStream()) {
            is.transferTo(out);
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + command);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static void quietly(List<String> command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort during teardown
        }
    }
}
