package io.mesh.e2e.sidecar;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A node with pods, built from Linux network namespaces: a bridge on the host holds the node address
 * (198.51.100.1/24, a documentation range) and each pod is a namespace with a veth on the bridge. Pods reach
 * each other and the node over the bridge alone (no forwarding, nothing leaves the machine). {@link #close}
 * removes everything it made. Needs root.
 *
 * <p>The addresses are fixed, so two of these on one machine (two worktrees running SidecarMeshIT) would put the node
 * address on two bridges and each run would talk to the other's pods. {@link #create} therefore takes a machine-wide
 * lock (a file lock under /tmp, waiting up to {@link #LOCK_WAIT} for another run to finish) and checks that nothing
 * else holds the node address; {@link #close} releases it.
 */
final class PodNetwork implements AutoCloseable {

    static final String NODE_IP = "198.51.100.1";
    static final java.time.Duration LOCK_WAIT = java.time.Duration.ofMinutes(15);
    private static final java.nio.file.Path LOCK = java.nio.file.Path.of("/tmp", "mesh-pod-network.lock");

    private java.nio.channels.FileChannel lockFile;
    private java.nio.channels.FileLock lock;

    private final String id = Integer.toString(ThreadLocalRandom.current().nextInt(10_000, 99_999));
    private final String bridge = "mbr" + id;
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> hostLinks = new ArrayList<>();
    private final List<java.nio.file.Path> etcDirs = new ArrayList<>();

    static boolean root() {
        try {
            return "0".equals(run(List.of("id", "-u")).strip());
        } catch (Exception e) {
            return false;
        }
    }

    PodNetwork create() throws Exception {
        lockFile = java.nio.channels.FileChannel.open(LOCK, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE);
        long end = System.nanoTime() + LOCK_WAIT.toNanos();
        boolean said = false;
        while ((lock = lockFile.tryLock()) == null) {
            if (System.nanoTime() > end) {
                throw new AssertionError("another pod network (a SidecarMeshIT in another worktree?) held " + LOCK
                        + " for " + LOCK_WAIT);
            }
            if (!said) {
                System.out.println("waiting for another pod network to go (" + LOCK + " is locked)");
                said = true;
            }
            Thread.sleep(1000);
        }
        String holder = run(List.of("ip", "-br", "addr")).lines().filter(l -> l.contains(" " + NODE_IP + "/"))
                .findFirst().orElse(null);
        if (holder != null) {
            throw new AssertionError(NODE_IP + " is already on an interface (" + holder.strip() + "): a pod network that"
                    + " does not take the lock, or one left behind (ip link del <bridge>; ip netns del <pod>)");
        }
        run(List.of("ip", "link", "add", bridge, "type", "bridge"));
        hostLinks.add(bridge);
        run(List.of("ip", "addr", "add", NODE_IP + "/24", "dev", bridge));
        run(List.of("ip", "link", "set", bridge, "up"));
        return this;
    }

    /**
     * Adds a pod namespace with {@code ip}/24 on the bridge; returns the namespace's name. {@code hosts} is the
     * pod's cluster DNS: {@code ip netns exec} mounts /etc/netns/NAME/hosts over /etc/hosts, so the pod's
     * processes resolve service names (citadel.istio-system.svc, b.default.svc.cluster.local) as in a cluster.
     */
    String addPod(String name, String ip, String hosts) throws Exception {
        String ns = "m" + name + id;
        java.nio.file.Path etc = java.nio.file.Files.createDirectories(java.nio.file.Path.of("/etc/netns", ns));
        etcDirs.add(etc);
        java.nio.file.Files.writeString(etc.resolve("hosts"), "127.0.0.1 localhost\n::1 localhost\n" + hosts);
        String hostSide = "v" + name + id;
        run(List.of("ip", "netns", "add", ns));
        namespaces.add(ns);
        run(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
        run(List.of("ip", "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns));
        hostLinks.add(hostSide);
        run(List.of("ip", "link", "set", hostSide, "master", bridge));
        run(List.of("ip", "link", "set", hostSide, "up"));
        run(List.of("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0"));
        run(List.of("ip", "-n", ns, "link", "set", "eth0", "up"));
        return ns;
    }

    /** The command prefix that runs something inside a pod, optionally as another uid/gid. */
    static List<String> inPod(String ns, Integer uid) {
        List<String> prefix = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        if (uid != null) {
            prefix.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups"));
        }
        return prefix;
    }

    /** The pod's nat table without counters and comments, so two dumps compare by rules alone. */
    static String nat(String ns) throws Exception {
        String dump = run(List.of("ip", "netns", "exec", ns, "iptables-save", "-t", "nat"));
        return dump.lines().filter(l -> !l.startsWith("#")).map(l -> l.replaceAll("\\[\\d+:\\d+]", ""))
                .reduce("", (a, b) -> a + b + "\n");
    }

    @Override
    public void close() {
        for (String ns : namespaces) {
            runQuietly(List.of("ip", "netns", "del", ns));
        }
        for (String link : hostLinks) {
            runQuietly(List.of("ip", "link", "del", link));
        }
        for (java.nio.file.Path etc : etcDirs) {
            runQuietly(List.of("rm", "-rf", etc.toString()));
        }
        try {
            if (lock != null) {
                lock.release();
            }
            if (lockFile != null) {
                lockFile.close();
            }
        } catch (IOException e) {
            // the lock goes with the process anyway
        }
    }

    static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish");
        }
        if (process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed (" + process.exitValue() + "): " + output);
        }
        return output;
    }

    private static void runQuietly(List<String> command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort during teardown
        }
    }
}
