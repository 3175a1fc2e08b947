package io.mesh.e2e;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A pod's network for a proxy that runs on the host: a network namespace whose veth peer is on the host, where an
 * iptables rule redirects every TCP connection from that veth to {@code capturePort} (as istio-iptables sends a pod's
 * connections to 15001 or 15006), so the proxy's {@code SO_ORIGINAL_DST} names where they were going. The destination
 * ({@link #destination}) is an address on the host's end of the veth. Addresses are a random /29 of TEST-NET-3
 * (203.0.113.0/24), one no interface has yet; nothing leaves the machine. {@link #close} removes all of it. Needs root.
 */
final class CapturedPod implements AutoCloseable {

    final String name;
    final String destination;
    private final String hostVeth;
    private final String hostIp;
    private final List<String> redirect;

    private CapturedPod(int id, int block, int capturePort) {
        name = "mcap" + id;
        hostVeth = "mch" + id;
        hostIp = "203.0.113." + (block + 1);
        destination = "203.0.113." + (block + 5);
        redirect = List.of("PREROUTING", "-i", hostVeth, "-p", "tcp", "-m", "comment", "--comment", name,
                "-j", "REDIRECT", "--to-ports", Integer.toString(capturePort));
    }

    static boolean root() throws Exception {
        return "0".equals(run(List.of("id", "-u")).strip());
    }

    /** A pod whose TCP connections go to {@code capturePort} on the host. */
    static CapturedPod create(int capturePort) throws Exception {
        for (int attempt = 0; ; attempt++) {
            int block = 8 * ThreadLocalRandom.current().nextInt(2, 30);
            if (run(List.of("ip", "-4", "-o", "addr", "show")).contains("inet 203.0.113." + (block + 1) + "/") && attempt < 20) {
                continue;
            }
            CapturedPod p = new CapturedPod(ThreadLocalRandom.current().nextInt(100_000, 999_999), block, capturePort);
            try {
                String podVeth = "mcp" + p.name.substring(4);
                run(List.of("ip", "netns", "add", p.name));
                run(List.of("ip", "-n", p.name, "link", "set", "lo", "up"));
                run(List.of("ip", "link", "add", p.hostVeth, "type", "veth", "peer", "name", podVeth));
                run(List.of("ip", "link", "set", podVeth, "netns", p.name));
                // The /30 first: REDIRECT sends to the primary address of the interface the connection came in on.
                run(List.of("ip", "addr", "add", p.hostIp + "/30", "dev", p.hostVeth));
                run(List.of("ip", "addr", "add", p.destination + "/32", "dev", p.hostVeth));
                run(List.of("ip", "link", "set", p.hostVeth, "up"));
                run(List.of("ip", "-n", p.name, "addr", "add", "203.0.113." + (block + 2) + "/30", "dev", podVeth));
                run(List.of("ip", "-n", p.name, "link", "set", podVeth, "up"));
                run(List.of("ip", "-n", p.name, "route", "add", "default", "via", p.hostIp));
                List<String> add = new ArrayList<>(List.of("iptables", "-t", "nat", "-A"));
                add.addAll(p.redirect);
                run(add);
                return p;
            } catch (Exception | AssertionError e) {
                p.close();
                throw e;
            }
        }
    }

    /** curl in the pod: "CODE" of a GET of {@code url} ("000" when the connection is refused or closed). */
    String curlStatus(String url) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name, "curl", "-s", "-o", "/dev/null", "-w",
                "%{http_code}", "--max-time", "5", url));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    @Override
    public void close() {
        List<String> delete = new ArrayList<>(List.of("iptables", "-t", "nat", "-D"));
        delete.addAll(redirect);
        quietly(delete);
        quietly(List.of("ip", "netns", "del", name));   // takes the veth pair with it
        quietly(List.of("ip", "link", "del", hostVeth));
    }

    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + ": " + out);
        }
        return out;
    }

    private static void quietly(List<String> command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // best effort during teardown
        }
    }
}
