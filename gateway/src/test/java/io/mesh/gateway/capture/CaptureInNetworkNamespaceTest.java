package io.mesh.gateway.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code gateway init-iptables} in a real pod-like network: a network namespace with a veth to the host,
 * the real iptables, and listeners that say which port accepted a connection. Needs root (CI runs as root).
 * Every address is in 198.51.100.0/24 and lives in this test's own namespaces or on its veth; the
 * outbound target is a second namespace of the test's that refuses connections, so nothing leaves the machine.
 */
class CaptureInNetworkNamespaceTest {

    /** A host in a second namespace of this test's, behind its own veth; it listens on nothing. */
    private static final String OUTBOUND_TARGET = "198.51.100.202";

    private static String ns;
    private static String sinkNs;
    private static String hostVeth;
    private static String podIp;
    private static Process probe;
    private static String natBefore;

    @BeforeAll
    static void createPod() throws Exception {
        assertEquals("0", run(List.of("id", "-u")).strip(), "this test needs root for ip netns and iptables");
        int id = ThreadLocalRandom.current().nextInt(100_000, 999_999);
        int subnet = ThreadLocalRandom.current().nextInt(0, 40) * 4; // a /30 below .160, clear of the sink's .200/30
        ns = "meshcap" + id;
        hostVeth = "mch" + id;
        String podVeth = "mcp" + id;
        String hostIp = "198.51.100." + (subnet + 1);
        podIp = "198.51.100." + (subnet + 2);
        run(List.of("ip", "netns", "add", ns));
        run(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
        run(List.of("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", podVeth));
        run(List.of("ip", "link", "set", podVeth, "netns", ns));
        run(List.of("ip", "addr", "add", hostIp + "/30", "dev", hostVeth));
        run(List.of("ip", "link", "set", hostVeth, "up"));
        run(List.of("ip", "-n", ns, "addr", "add", podIp + "/30", "dev", podVeth));
        run(List.of("ip", "-n", ns, "link", "set", podVeth, "up"));
        // The outbound target: a second namespace that refuses every connection, so uncaptured calls fail fast.
        sinkNs = "meshsink" + id;
        run(List.of("ip", "netns", "add", sinkNs));
        run(List.of("ip", "-n", ns, "link", "add", "tosink", "type", "veth", "peer", "name", "fromapp", "netns", sinkNs));
        run(List.of("ip", "-n", ns, "addr", "add", "198.51.100.201/30", "dev", "tosink"));
        run(List.of("ip", "-n", ns, "link", "set", "tosink", "up"));
        run(List.of("ip", "-n", sinkNs, "addr", "add", OUTBOUND_TARGET + "/30", "dev", "fromapp"));
        run(List.of("ip", "-n", sinkNs, "link", "set", "fromapp", "up"));
        run(List.of("ip", "-n", sinkNs, "link", "set", "lo", "up"));

        probe = new ProcessBuilder("ip", "netns", "exec", ns, javaBin(), "-cp", testClasses(),
                CaptureProbe.class.getName(), "15001", "15006", "15021", "8080")
                .redirectErrorStream(true).redirectOutput(Path.of("target", "capture-probe.log").toFile()).start();
        awaitProbe();
        natBefore = nat();
    }

    @AfterAll
    static void removePod() throws Exception {
        if (probe != null) {
            probe.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (ns != null) {
            runQuietly(List.of("ip", "netns", "del", ns));
            runQuietly(List.of("ip", "link", "del", hostVeth));
        }
        if (sinkNs != null) {
            runQuietly(List.of("ip", "netns", "del", sinkNs));
        }
    }

    @Test
    void initRedirectsInboundAndOutboundExceptTheProxysOwnTrafficAndCleanupRemovesEverything() throws Exception {
        assertEquals(0, initIptables("-o", "5432", "-d", "2222"));
        String installed = nat();
        assertTrue(installed.contains(":ISTIO_OUTPUT") && installed.contains("--to-ports 15001"), installed);

        // Inbound: an app port is captured; the proxy's own health port is not.
        assertEquals("port=15006", connectFromHost(8080));
        assertEquals("port=15021", connectFromHost(15021));
        // Outbound: the app's call is captured; the proxy's own (uid 1337) and an excluded port are not.
        assertEquals("port=15001", connectInPod(OUTBOUND_TARGET, 80, null));
        assertNotEquals("port=15001", connectInPod(OUTBOUND_TARGET, 80, "1337"));
        assertNotEquals("port=15001", connectInPod(OUTBOUND_TARGET, 5432, null));

        // Idempotent: a second run leaves exactly the same rules, not a second copy.
        assertEquals(0, initIptables("-o", "5432", "-d", "2222"));
        assertEquals(installed, nat());

        assertEquals(0, initIptables("--cleanup"));
        assertEquals(natBefore, nat());
        assertFalse(nat().contains("ISTIO_"));
        assertEquals("port=8080", connectFromHost(8080));
    }

    @Test
    void badFlagsAreRefusedWithExitCodeTwoAndInstallNothing() throws Exception {
        assertEquals(2, initIptables("-p", "not-a-port"));
        assertEquals(2, initIptables("-i", "10.0.0.0/99"));
        assertFalse(nat().contains("ISTIO_"));
    }

    /** Polls until the probe in the namespace answers, failing with its log after a deadline. */
    private static void awaitProbe() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if ("port=8080".equals(connectFromHost(8080))) {
                    return;
                }
            } catch (IOException notYet) {
                // the probe is still starting
            }
            assertTrue(probe.isAlive(), "the probe exited: " + Files.readString(Path.of("target", "capture-probe.log")));
            TimeUnit.MILLISECONDS.sleep(100);
        }
        throw new AssertionError("the probe in " + ns + " did not answer within 60 s");
    }

    private static int initIptables(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns, javaBin(), "-cp", mainClasses(),
                InitIptablesCommand.class.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "init-iptables did not finish");
        System.out.println("init-iptables " + String.join(" ", args) + " -> " + process.exitValue() + ": " + output);
        return process.exitValue();
    }

    /** The nat table inside the pod, without counters and comments, so two dumps compare by rules alone. */
    private static String nat() throws Exception {
        String dump = run(List.of("ip", "netns", "exec", ns, "iptables-save", "-t", "nat"));
        return dump.lines().filter(l -> !l.startsWith("#")).map(l -> l.replaceAll("\\[\\d+:\\d+]", "")).reduce("", (a, b) -> a + b + "\n");
    }

    private static String connectFromHost(int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(podIp, port), 2000);
            socket.setSoTimeout(2000);
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
        }
    }

    /** Connects from inside the pod, as root or as the given uid; returns the first line, or "" when it cannot connect. */
    private static String connectInPod(String host, int port, String uid) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        if (uid != null) {
            command.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups"));
        }
        command.addAll(List.of("timeout", "2", "bash", "-c",
                "exec 3<>/dev/tcp/" + host + "/" + port + " && head -n 1 <&3"));
        Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        process.waitFor(10, TimeUnit.SECONDS);
        return output;
    }

    private static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        assertEquals(0, process.exitValue(), String.join(" ", command) + " failed: " + output);
        return output;
    }

    private static void runQuietly(List<String> command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort during teardown
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String mainClasses() {
        return Path.of("target", "classes").toAbsolutePath().toString();
    }

    private static String testClasses() {
        return Path.of("target", "test-classes").toAbsolutePath().toString();
    }

}
