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
    /** istiod's LabelHostname: the node a proxy or endpoint runs on, among their topology labels. */
    public static final String HOSTNAME = "kubernetes.io/hostname";

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

    /**
     * The node the proxy runs on: its xDS node's {@code NODE_NAME} (istiod's proxy.GetNodeName()), else the node of the
     * pod the registry knows at the proxy's IP. istiod reads only the former, which istio-agent always sends; the
     * mesh's own proxies do not send it, and the registry's answer is the same {@code spec.nodeName}. Empty: unknown.
     */
    public static String node(ProxyInfo proxy, MeshSnapshot snapshot) {
        if (!proxy.node().isEmpty()) {
            return proxy.node();
        }
        return proxy.ip().isEmpty() ? "" : snapshot.podNodes().getOrDefault(proxy.ip(), "");
    }

    /**
     * Whether EDS in this snapshot depends on the node a proxy runs on (a service prefers its node, or a
     * DestinationRule's {@code failoverPriority} names {@link #HOSTNAME}): the generation cache then keys EDS by it.
     */
    public static boolean nodeMatters(MeshSnapshot snapshot) {
        return LocalityLoadBalancer.dependsOnNode(snapshot);
    }

    /** The three parts of a locality, empty where it names none. */
    static String[] parts(String locality) {
        String[] p = (locality + "//").split("/", -1);
        return new String[] {p[0], p[1], p[2]};
    }

    /**
     * {@code labels} with the locality's topology labels and the node ({@link #HOSTNAME}, when known) added, as
     * istiod's AugmentLabels augments proxy and endpoint labels (pilot/pkg/serviceregistry/util/label/label.go).
     */
    static Map<String, String> withTopology(Map<String, String> labels, String locality, String node) {
        String[] p = parts(locality);
        if (p[0].isEmpty() && p[1].isEmpty() && p[2].isEmpty() && node.isEmpty()) {
            return labels;
        }
        Map<String, String> out = new HashMap<>(labels);
        if (!node.isEmpty()) {
            out.put(HOSTNAME, node);
        }
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
