package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.mesh.config.ConfigValidator;
import io.mesh.config.Delegation;
import io.mesh.config.DestinationRule;
import io.mesh.config.ExportTo;
import io.mesh.config.Gateway;
import io.mesh.config.Hosts;
import io.mesh.config.Kind;
import io.mesh.config.PolicyConfig;
import io.mesh.config.RawResource;
import io.mesh.config.ServiceEntry;
import io.mesh.config.VirtualService;
import io.mesh.config.YamlDocuments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Analyzes Istio YAML offline with pilot's own validation (istio-config): each resource on its own, then
 * across the files given: a destination host that no ServiceEntry or Service defines (a warning, as pilot
 * treats it), a subset that no DestinationRule for the host defines (an error), and VirtualServices that claim the
 * same host for sidecars (an error, istioctl's IST0109), destination and Service ports ({@link ServicePorts}: IST0112,
 * IST0101 host:port, IST0118), Gateways that conflict ({@link GatewayConflicts}: IST0145), gateways that are not in the files or take none of a
 * VirtualService's hosts ({@link GatewayReferences}: IST0101, IST0132), and routes and matches that earlier routes
 * shadow ({@link UnreachableRoutes}: IST0130, IST0131), DestinationRules that leave the server unverified
 * ({@link ServerVerification}: IST0128, IST0129); and with the Pods, Namespaces and Services given ({@link Workloads}):
 * namespaces not labelled for injection ({@link NamespaceInjection}: IST0102), Sidecars that select the same pod
 * ({@link SidecarSelectors}: IST0110), AuthorizationPolicies that select no pod ({@link PolicyWorkloads}: IST0127) and
 * Gateway ports no Service leads to ({@link GatewayPorts}: IST0162). Each finding carries its file:line and the Istio
 * field path; a resource read from a cluster, its kind, namespace and name.
 */
final class ConfigAnalyzer {

    /** One finding; {@code severity} is istioctl's level: "error", "warning" or "info". */
    record Finding(String file, int line, String severity, String resource, String message) {
        boolean error() {
            return "error".equals(severity);
        }
    }

    private record Document(String file, RawResource raw, YamlLines lines) {
    }

    /**
     * YAML to analyze: {@code name} is how findings name it (a file's path, or "" for a resource read from a cluster,
     * whose lines mean nothing to the user); {@code dir} is where a kustomization may give it a namespace, or null.
     */
    record Source(String name, Path dir, String text) {
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final List<Finding> findings = new ArrayList<>();
    private final List<Document> istio = new ArrayList<>();
    private final ServicePorts services = new ServicePorts();
    private final GatewayReferences gateways;
    private final GatewayConflicts gatewayConflicts = new GatewayConflicts();
    private final Workloads workloads = new Workloads();
    private final SidecarSelectors sidecarSelectors = new SidecarSelectors();
    private final PolicyWorkloads policyWorkloads = new PolicyWorkloads();
    /** Whether the sources are a cluster's config, all of it (findings then say "on the cluster", and pods are all known). */
    private final boolean cluster;

    /** Analyzes files. */
    ConfigAnalyzer() {
        this(false);
    }

    ConfigAnalyzer(boolean cluster) {
        this.cluster = cluster;
        this.gateways = new GatewayReferences(cluster);
    }

    List<Finding> analyze(List<Path> files) throws IOException {
        List<Source> sources = new ArrayList<>();
        for (Path file : files) {
            sources.add(new Source(file.toString(), file.toAbsolutePath().getParent(), Files.readString(file)));
        }
        return analyzeSources(sources);
    }

    List<Finding> analyzeSources(List<Source> sources) {
        for (Source source : sources) {
            read(source);
        }
        Map<String, Set<String>> subsets = new HashMap<>();
        // The VirtualServices that validated, checked across the files once every host and subset is known.
        List<Map.Entry<VirtualService, Document>> virtualServices = new ArrayList<>();
        List<Map.Entry<Gateway, Document>> validGateways = new ArrayList<>();
        Map<String, List<Map.Entry<PolicyConfig.Sidecar, Document>>> namespaceSidecars = new java.util.TreeMap<>();
        for (Document doc : istio) {
            ConfigValidator.Result result = ConfigValidator.validate(doc.raw());
            result.errors().forEach(e -> report(doc, "error", e));
            result.warnings().forEach(w -> report(doc, "warning", w));
            if ("Gateway".equals(doc.raw().kind()) && !doc.raw().apiVersion().startsWith(Kind.GATEWAY_API + "/")) {
                gateways.istioGateway(doc.raw().namespace(), doc.raw().name(), result.model() instanceof Gateway g ? g : null);
            }
            if (result.valid()) {
                BiConsumer<String, String> reporter = (severity, problem) -> report(doc, severity, problem);
                if (result.model() instanceof PolicyConfig.Sidecar sc) {
                    sidecarSelectors.add(sc, reporter);
                }
                if (result.model() instanceof PolicyConfig.AuthorizationPolicy ap) {
                    policyWorkloads.add(ap, reporter);
                }
                if (result.model() instanceof VirtualService vs) {
                    virtualServices.add(Map.entry(vs, doc));
                }
                if (result.model() instanceof PolicyConfig.Sidecar sc && sc.workloadSelector().isEmpty()) {
                    namespaceSidecars.computeIfAbsent(sc.namespace(), n -> new ArrayList<>()).add(Map.entry(sc, doc));
                }
                if (result.model() instanceof Gateway g) {
                    gatewayConflicts.add(g);
                    validGateways.add(Map.entry(g, doc));
                }
                if (result.model() instanceof ServiceEntry se) {
                    List<Integer> numbers = se.ports().stream().map(ServiceEntry.Port::number).toList();
                    se.hosts().forEach(h -> services.service(Hosts.resolve(h, se.namespace()), numbers));
                }
                if (result.model() instanceof DestinationRule dr) {
                    Set<String> names = subsets.computeIfAbsent(Hosts.resolve(dr.host(), dr.namespace()), h -> new HashSet<>());
                    dr.subsets().forEach(s -> names.add(s.name()));
                    ServerVerification.check(dr.namespace(), dr.name(), doc.raw().spec(), reporter);
                }
            }
        }
        for (Map.Entry<VirtualService, Document> e : virtualServices) {
            crossCheck(e.getValue(), e.getKey(), subsets);
            services.destinations(e.getKey(), (severity, problem) -> report(e.getValue(), severity, problem));
            gateways.check(e.getKey(), (severity, problem) -> report(e.getValue(), severity, problem));
            UnreachableRoutes.find(e.getKey(), (severity, problem) -> report(e.getValue(), severity, problem));
        }
        conflictingMeshHosts(virtualServices);
        namespaceSidecars.forEach(this::namespaceWideSidecars);
        validGateways.forEach(e -> gatewayConflicts.check(e.getKey(), (severity, problem) -> report(e.getValue(), severity, problem)));
        delegation(virtualServices);
        validGateways.forEach(e -> GatewayPorts.check(e.getKey(), workloads, cluster,
                (severity, problem) -> report(e.getValue(), severity, problem)));
        sidecarSelectors.check(workloads, cluster);
        policyWorkloads.check(workloads, cluster);
        findings.addAll(NamespaceInjection.find(workloads));
        return List.copyOf(findings);
    }

    /**
     * What pilot leaves out of a root VirtualService's delegating routes (a delegate that does not exist or is not
     * exported to the root's namespace, delegate routes outside the root's match), at the root's spec.http[i].
     */
    private void delegation(List<Map.Entry<VirtualService, Document>> virtualServices) {
        List<String> warnings = new ArrayList<>();
        Delegation.expand(virtualServices.stream().map(Map.Entry::getKey).toList(), warnings);
        Map<String, Document> docs = new HashMap<>();
        virtualServices.forEach(e -> docs.put("VirtualService " + e.getKey().namespace() + "/" + e.getKey().name() + ": ",
                e.getValue()));
        for (String w : warnings) {
            // Pilot's words, "VirtualService NS/NAME: http[I]..." : at that resource's spec.http[I].
            int at = w.indexOf(": ");
            Document doc = at < 0 ? null : docs.get(w.substring(0, at + 2));
            java.util.regex.Matcher m = HTTP_ROUTE.matcher(at < 0 ? "" : w.substring(at + 2));
            if (doc != null && m.matches()) {
                report(doc, "warning", "spec.http[" + m.group(1) + "]: " + m.group(2));
            }
        }
    }

    /**
     * istioctl analyze's IST0111: more than one Sidecar without a workloadSelector in a namespace. Which one applies to
     * its workloads is then undefined (pilot takes the oldest, as istiod): an error at each.
     */
    private void namespaceWideSidecars(String namespace, List<Map.Entry<PolicyConfig.Sidecar, Document>> sidecars) {
        if (sidecars.size() < 2) {
            return;
        }
        List<String> names = sidecars.stream().map(e -> e.getKey().name()).sorted().toList();
        for (Map.Entry<PolicyConfig.Sidecar, Document> e : sidecars) {
            report(e.getValue(), "error", "spec: the Sidecars " + names + " in namespace \"" + namespace + "\" have no"
                    + " workload selector, which can lead to undefined behavior (IST0111)");
        }
    }

    private static final java.util.regex.Pattern HTTP_ROUTE = java.util.regex.Pattern.compile("http\\[(\\d+)\\]:? (.*)");

    /**
     * istioctl analyze's IST0109: VirtualServices for sidecars (the mesh gateway) that claim the same host for the same
     * namespaces (exportTo: both public, both private to one namespace, or lists that share one). Istio merges
     * VirtualServices for a host only on gateways; for sidecars the oldest applies (then by name, namespace), as in
     * pilot. A narrower one where a wider one is also exported overrides it there, and is not a conflict.
     */
    private void conflictingMeshHosts(List<Map.Entry<VirtualService, Document>> virtualServices) {
        virtualServices.sort(Map.Entry.comparingByKey(VirtualService.ISTIO_ORDER));
        Map<String, List<VirtualService>> claimsByHost = new HashMap<>();
        for (Map.Entry<VirtualService, Document> e : virtualServices) {
            VirtualService vs = e.getKey();
            if (!vs.gateways().isEmpty() && !vs.gateways().contains("mesh")) {
                continue;
            }
            for (int i = 0; i < vs.hosts().size(); i++) {
                List<VirtualService> claims = claimsByHost.computeIfAbsent(Hosts.resolve(vs.hosts().get(i),
                        vs.namespace()), h -> new ArrayList<>());
                // The same namespace/name in two files is one resource written twice (the later apply wins), not two.
                VirtualService first = claims.stream().filter(c -> !(c.namespace().equals(vs.namespace())
                        && c.name().equals(vs.name())) && ExportTo.sameScope(c.exportTo(), c.namespace(), vs.exportTo(),
                                vs.namespace())).findFirst().orElse(null);
                if (first != null) {
                    report(e.getValue(), "error", "spec.hosts[" + i + "]: \"" + vs.hosts().get(i) + "\" is also routed by"
                            + " VirtualService " + first.namespace() + "/" + first.name() + " for sidecars in the same"
                            + " namespaces, and only the oldest applies; Istio merges VirtualServices for a host only on"
                            + " gateways (IST0109)");
                }
                claims.add(vs);
            }
        }
    }

    private void crossCheck(Document doc, VirtualService vs, Map<String, Set<String>> subsets) {
        for (int i = 0; i < vs.http().size(); i++) {
            List<VirtualService.RouteDestination> route = vs.http().get(i).route();
            for (int j = 0; j < route.size(); j++) {
                VirtualService.Destination destination = route.get(j).destination();
                String path = "spec.http[" + i + "].route[" + j + "].destination";
                String host = Hosts.resolve(destination.host(), vs.namespace());
                if (!services.known(host)) {
                    report(doc, "warning", path + ".host: " + (cluster ? "referenced host not found: \"" + destination.host()
                            + "\" (no ServiceEntry or Service for " + host + " on the cluster)" : "\"" + destination.host()
                            + "\" is not a service in the analyzed files (no ServiceEntry or Service for " + host + ")"));
                }
                // A DestinationRule for a wildcard host (*.example.com, *.local) defines subsets for every host it takes.
                if (destination.subset() != null && subsets.entrySet().stream().noneMatch(
                        r -> Hosts.covers(r.getKey(), host) && r.getValue().contains(destination.subset()))) {
                    report(doc, "error", path + ".subset: \"" + destination.subset() + "\" is not defined by any DestinationRule for "
                            + host);
                }
            }
        }
    }

    /** Splits a file at its "---" lines, so each document keeps its own line numbers. */
    private void read(Source file) {
        List<String> lines = file.text().lines().toList();
        int start = 0;
        for (int i = 0; i <= lines.size(); i++) {
            if (i == lines.size() || (lines.get(i).startsWith("---") && lines.get(i).strip().matches("---.*"))) {
                if (i > start) {
                    document(file, String.join("\n", lines.subList(start, i)), start);
                }
                start = i + 1;
            }
        }
    }

    private void document(Source source, String text, int offset) {
        String file = source.name();
        JsonNode node;
        try {
            node = YAML.readTree(text);
        } catch (IOException e) {
            int line = e instanceof com.fasterxml.jackson.core.JsonProcessingException p && p.getLocation() != null
                    ? p.getLocation().getLineNr() + offset : offset + 1;
            findings.add(new Finding(file, line, "error", "-", "invalid YAML: "
                    + e.getMessage().lines().findFirst().orElse("")));
            return;
        }
        if (node == null || !node.isObject() || !node.has("kind")) {
            return;
        }
        String apiVersion = node.path("apiVersion").asText("");
        String kind = node.path("kind").asText("");
        // A document without a namespace gets its kustomization's, as kubectl apply -k would give it.
        String namespace = node.path("metadata").path("namespace").asText(source.dir() == null ? "default"
                : kustomizationNamespace(source.dir()));
        if ("v1".equals(apiVersion) && "Pod".equals(kind)) {
            workloads.pod(namespace, node);
            return;
        }
        if ("v1".equals(apiVersion) && "Namespace".equals(kind)) {
            workloads.namespace(node, file, file.isEmpty() ? 0 : YamlLines.of(text, offset).lineOf("metadata.name"));
            return;
        }
        if ("v1".equals(apiVersion) && "Service".equals(kind)) {
            workloads.service(namespace, node);
            String name = node.path("metadata").path("name").asText();
            List<Integer> numbers = new ArrayList<>();
            node.path("spec").path("ports").forEach(port -> numbers.add(port.path("port").asInt()));
            services.service(name + "." + namespace + "." + Hosts.DOMAIN_SUFFIX, numbers);
            YamlLines lines = YamlLines.of(text, offset);
            ServicePorts.portNames(namespace, node.path("spec"), (severity, problem) -> findings.add(new Finding(
                    file, lines.lineOf(problem.substring(0, problem.indexOf(": "))), severity,
                    "Service " + namespace + "/" + name, problem)));
            return;
        }
        if (apiVersion.startsWith(Kind.GATEWAY_API + "/")) {
            if ("Gateway".equals(kind)) {
                List<String> hostnames = new ArrayList<>();
                node.path("spec").path("listeners").forEach(l -> hostnames.add(l.path("hostname").asText("")));
                gateways.kubernetesGateway(namespace, node.path("metadata").path("name").asText(), hostnames);
            }
            if (Kind.of(apiVersion, kind).filter(Kind::gatewayApi).isEmpty()) {
                // Silence would read as "validated and fine": say that pilot does not read this kind at all.
                findings.add(new Finding(file, YamlLines.of(text, offset).lineOf("kind"), "warning", kind + " "
                        + namespace + "/" + node.path("metadata").path("name").asText(), "kind: of the Kubernetes Gateway"
                        + " API this mesh serves " + String.join(", ", java.util.Arrays.stream(Kind.values())
                                .filter(Kind::gatewayApi).map(k -> k.kindName).toList()) + " only, so this " + kind
                        + " is not applied"));
                return;
            }
        } else if (!apiVersion.contains(".istio.io/")) {
            return;
        }
        YamlLines lines = YamlLines.of(text, offset);
        YamlDocuments.Parsed parsed = YamlDocuments.parse(text, file);
        parsed.errors().forEach(e -> findings.add(new Finding(file, lines.lineOf(""), "error", "-", e)));
        parsed.resources().forEach(raw -> istio.add(new Document(file, new RawResource(raw.apiVersion(), raw.kind(),
                raw.namespace().equals("default") ? namespace : raw.namespace(), raw.name(), raw.spec(), raw.origin(), raw.created()), lines)));
    }

    private final Map<Path, String> kustomizationNamespaces = new HashMap<>();

    private String kustomizationNamespace(Path dir) {
        return kustomizationNamespaces.computeIfAbsent(dir, d -> {
            Path kustomization = d.resolve("kustomization.yaml");
            try {
                return Files.isRegularFile(kustomization) ? YAML.readTree(kustomization.toFile()).path("namespace").asText("default")
                        : "default";
            } catch (IOException e) {
                return "default";
            }
        });
    }

    private void report(Document doc, String severity, String problem) {
        int colon = problem.indexOf(": ");
        String path = colon > 0 ? problem.substring(0, colon) : "";
        RawResource raw = doc.raw();
        findings.add(new Finding(doc.file(), doc.lines().lineOf(path), severity,
                raw.kind() + " " + raw.namespace() + "/" + raw.name(), problem));
    }
}
