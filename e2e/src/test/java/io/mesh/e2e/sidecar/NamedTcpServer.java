package io.mesh.e2e.sidecar;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * TCP apps of {@link SidecarMeshIT} that speak first: {@code NAME PORT [NAME PORT ...]} listens on each 127.0.0.1:PORT
 * (as a container next to its sidecar would); on each connection it writes {@code NAME\n} at once, then answers every
 * line {@code L} with {@code NAME L\n} until the client's end of input, then writes {@code NAME eof\n} and closes. One JVM serves several names, one per port.
 */
public final class NamedTcpServer {

    private NamedTcpServer() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || args.length % 2 != 0) {
            System.err.println("usage: NamedTcpServer NAME PORT [NAME PORT ...]");
            System.exit(2);
        }
        for (int i = 0; i < args.length; i += 2) {
            String name = args[i];
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(args[i + 1])), 256);
            new Thread(() -> accept(name, server), "accept-" + name).start();
            System.out.println("tcp app " + name + " listening on " + args[i + 1]);
        }
    }

    private static void accept(String name, ServerSocket server) {
        while (true) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(name, s), name + "-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                System.out.println(name + ": accept failed: " + e);
                return;
            }
        }
    }

    private static void serve(String name, Socket s) {
        try (s) {
            OutputStream out = s.getOutputStream();
            out.write((name + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.write((name + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            // The client's end of input (its FIN): a client that only half-closed still reads this.
            out.write((name + " eof\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            // the client reset the connection
        }
    }
}
