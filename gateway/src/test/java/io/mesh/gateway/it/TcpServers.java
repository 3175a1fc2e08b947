package io.mesh.gateway.it;

import java.net.ServerSocket;
import java.net.Socket;

/** Test servers on plain or TLS server sockets: an accept loop, and a daemon thread per connection. */
final class TcpServers {

    private TcpServers() {
    }

    /** What a server does with one connection; the socket is closed after it. */
    interface Conversation<S extends Socket> {
        void run(S s) throws Exception;
    }

    /**
     * Accepts on {@code server} until it is closed, each connection with a read timeout of {@code timeoutMs} and its
     * own daemon thread running {@code conversation}; an exception ends that connection only (a client that went away).
     */
    @SuppressWarnings("unchecked")
    static <S extends Socket> void serve(ServerSocket server, String name, int timeoutMs, Conversation<S> conversation) {
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    S s = (S) server.accept();
                    Thread c = new Thread(() -> {
                        try (s) {
                            s.setSoTimeout(timeoutMs);
                            conversation.run(s);
                        } catch (Exception e) {
                            // a client that went away, or a connection the gateway closed
                        }
                    }, name + "-conversation");
                    c.setDaemon(true);
                    c.start();
                } catch (java.io.IOException e) {
                    // closed
                }
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }
}
