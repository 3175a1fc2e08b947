package io.mesh.gateway.capture;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Listens on the given ports inside a test's network namespace and answers each connection with the
 * port that accepted it ({@code port=15001}), so a test sees where a connection was redirected.
 */
public final class CaptureProbe {

    public static void main(String[] args) throws IOException {
        for (String arg : args) {
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress("0.0.0.0", Integer.parseInt(arg)), 64);
            Thread thread = new Thread(() -> serve(server), "probe-" + arg);
            thread.start();
        }
        System.out.println("probe listening on " + String.join(",", args));
    }

    private static void serve(ServerSocket server) {
        while (true) {
            try (Socket socket = server.accept(); OutputStream out = socket.getOutputStream()) {
                out.write(("port=" + server.getLocalPort() + "\n").getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                // one failed connection; keep serving
            }
        }
    }
}
