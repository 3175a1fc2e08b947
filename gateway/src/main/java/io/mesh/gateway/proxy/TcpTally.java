package io.mesh.gateway.proxy;

/**
 * Istio's TCP metrics of one relayed connection. Their labels name the peer, which may be known only once the TLS
 * handshake and the metadata exchange ({@link PeerExchange}) are done; so the meters are chosen then
 * ({@link #choose}), and what moved before is counted at that moment, the open included. A connection that closes
 * before is counted with an unknown peer. Event-loop confined (both sides of a relay share one).
 */
final class TcpTally {

    /** The meters for a connection whose peer is {@code peer} (null: unknown) and whose upstream's TLS certificate named {@code upstreamPrincipal} (null: none or unknown); may return null (no registry). */
    @FunctionalInterface
    interface Meters {
        TcpMeters of(PeerWorkload peer, String upstreamPrincipal);
    }

    private final Meters meters;
    private TcpMeters chosen;
    private boolean decided;
    private boolean closed;
    private long received;
    private long sent;
    /** The connection's access log line, or null: told the peer once it is known. */
    TcpAccessLog log;

    TcpTally(Meters meters) {
        this.meters = meters;
    }

    /** Chooses the meters (once; later calls do nothing) and counts the open and what moved so far. */
    void choose(PeerWorkload peer, String upstreamPrincipal) {
        if (decided) {
            return;
        }
        decided = true;
        if (log != null) {
            log.peer(peer, null);
        }
        chosen = meters.of(peer, upstreamPrincipal);
        if (chosen == null) {
            return;
        }
        chosen.open();
        if (received > 0) {
            chosen.received(received);
        }
        if (sent > 0) {
            chosen.sent(sent);
        }
        if (closed) {
            chosen.close();
        }
    }

    /** Bytes from the downstream (Istio's {@code istio_tcp_received_bytes}). */
    void received(int n) {
        if (chosen != null) {
            chosen.received(n);
        } else if (!decided) {
            received += n;
        }
    }

    /** Bytes to the downstream (Istio's {@code istio_tcp_sent_bytes}). */
    void sent(int n) {
        if (chosen != null) {
            chosen.sent(n);
        } else if (!decided) {
            sent += n;
        }
    }

    /** The connection closed: counted, with an unknown peer if none was chosen yet. */
    void closed() {
        if (closed) {
            return;
        }
        closed = true;
        if (!decided) {
            choose(null, null);   // counts the close too
        } else if (chosen != null) {
            chosen.close();
        }
    }
}
