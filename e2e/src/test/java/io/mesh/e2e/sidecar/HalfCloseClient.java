package io.mesh.e2e.sidecar;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A TCP client of {@link SidecarMeshIT} that half-closes: {@code HOST PORT LINE} connects, writes {@code LINE\n}, shuts
 * down its output (a FIN) at once, then prints everything the server sends until it closes. A proxy that turns the FIN
 * into a full close loses the server's answer to the line.
 */
public final class HalfCloseClient {

    private HalfCloseClient() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: HalfCloseClient HOST PORT LINE");
            System.exit(2);
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(args[0], Integer.parseInt(args[1])), 5_000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write((args[2] + "\n").getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            System.out.print(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
