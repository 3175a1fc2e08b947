package io.mesh.pilot.generator;

/** Istio's cluster naming: "outbound|port|subset|host", so config dumps read like istiod's. */
public final class ClusterNames {
    private ClusterNames() {
    }

    public static String outbound(String host, int port, String subset) {
        return "outbound|" + port + "|" + (subset == null ? "" : subset) + "|" + host;
    }

    public static String inbound(int port) {
        return "inbound|" + port + "||";
    }

    /** Parsed form of an outbound cluster name, or null when it is not one. */
    public record Parsed(String host, int port, String subset) {
    }

    public static Parsed parse(String name) {
        String[] p = name.split("\\|", -1);
        if (p.length != 4 || !p[0].equals("outbound")) {
            return null;
        }
        try {
            return new Parsed(p[3], Integer.parseInt(p[1]), p[2].isEmpty() ? null : p[2]);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
