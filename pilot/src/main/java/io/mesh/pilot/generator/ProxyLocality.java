package io.mesh.pilot.generator;

import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.HashMap;
import java.util.Map;

/**
 * Where a proxy is, "region/zone/subzone", found as istiod finds it (xds/ads.go setTopologyLabels and
 * localityFromProxyLabels): what the registry knows of the proxy's pod (its node's topology labels, or its
 * {@code istio-locality} label), else the proxy's topology labels ({@code topology.kubernetes.io/region},
 * {@code topology.kubernetes.io/zone}, {@code topology.istio.io/subzone}), else its {@code istio-locality} label, else
 * the locality its xDS node sends.
 */
public final class ProxyLocality {
    public static final String REGION = "topology.kubernetes.io/region";
    public static final String ZONE = "topology.kubernetes.io/zone";
    public static final String SUBZONE = "topology.istio.io/subzone";
    public static final String LOCALITY_LABEL = "istio-locality";

    private ProxyLocality() {
    }

    public static String of(ProxyInfo proxy, MeshSnapshot snapshot) {
        String pod = proxy.ip().isEmpty() ? null : snapshot.podLocalities().get(proxy.ip());
        if (pod != null) {
            return pod;
        }
        Map<String, String> l = proxy.labels();
        if (l.containsKey(REGION) || l.containsKey(ZONE) || l.containsKey(SUBZONE)) {
            return l.getOrDefault(REGION, "") + "/" + l.getOrDefault(ZONE, "") + "/" + l.getOrDefault(SUBZONE, "");
        }
        String label = l.get(LOCALITY_LABEL);
        if (label != null && !label.isEmpty()) {
            return label.replace('.', '/');
        }
        return proxy.locality();
    }

    /** The three parts of a locality, empty where it names none. */
    static String[] parts(String locality) {
        String[] p = (locality + "//").split("/", -1);
        return new String[] {p[0], p[1], p[2]};
    }

    /** {@code labels} with the locality's topology labels added, as istiod augments proxy and endpoint labels. */
    static Map<String, String> withTopology(Map<String, String> labels, String locality) {
        String[] p = parts(locality);
        if (p[0].isEmpty() && p[1].isEmpty() && p[2].isEmpty()) {
            return labels;
        }
        Map<String, String> out = new HashMap<>(labels);
        if (!p[0].isEmpty()) {
            out.put(REGION, p[0]);
        }
        if (!p[1].isEmpty()) {
            out.put(ZONE, p[1]);
        }
        if (!p[2].isEmpty()) {
            out.put(SUBZONE, p[2]);
        }
        return out;
    }
}
