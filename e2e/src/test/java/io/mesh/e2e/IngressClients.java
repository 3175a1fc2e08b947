package io.mesh.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** The real clients {@link IngressGatewayIT} drives: processes (curl, openssl s_client) and plain TCP sockets. */
final class IngressClients {

    private IngressClients() {
    }

    /** Runs a client to completion; its stdout and stderr together. */
    static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "did not finish: " + command);
        return out.strip();
    }

    /** Runs a client with {@code input} on its stdin (then closed), to completion; its stdout and stderr together. */
    static String runWithInput(List<String> command, String input) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "did not finish: " + command);
        return out.strip();
    }

    /** openssl s_client's report of a handshake (certificate subject, verification), with {@code -servername} if given. */
    static String sClient(int port, String serverName, List<String> extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
        if (serverName != null) {
            cmd.addAll(List.of("-servername", serverName));
        } else {
            cmd.add("-noservername");
        }
        cmd.addAll(extra);
        return run(cmd);
    }

    /** The subject of the certificate openssl s_client saw, as "CN=NAME". */
    static String subject(String sClientOutput) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^subject=(.*)$").matcher(sClientOutput);
        assertTrue(m.find(), "no certificate: " + sClientOutput);
        return m.group(1).replace(" = ", "=").strip();
    }

    /**
     * {@code n} TCP connections to {@code port}, each sending a line that a {@link IngressBackends#tcpEcho} server
     * answers with its name: who answered, how often. A refused connection counts as "refused", one closed without
     * an answer as "closed".
     */
    static Map<String, Integer> tcpConnections(int port, int n) throws IOException {
        Map<String, Integer> seen = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            try (Socket s = new Socket()) {
                try {
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
                } catch (java.net.ConnectException refused) {
                    seen.merge("refused", 1, Integer::sum);
                    continue;
                }
                s.setSoTimeout(10_000);
                String answer;
                try {
                    s.getOutputStream().write(("hello " + i + "\n").getBytes(StandardCharsets.UTF_8));
                    s.getOutputStream().flush();
                    answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (java.net.SocketException reset) {
                    answer = "";   // closed by the gateway before or while we wrote
                }
                String who = answer.isEmpty() ? "closed" : answer.endsWith(": hello " + i + "\n")
                        ? answer.substring(0, answer.indexOf(':')) : "bad answer " + answer;
                seen.merge(who, 1, Integer::sum);
            }
        }
        return seen;
    }
}
