package io.mesh.testing.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.*;

/** Static table of built-in resources + builder for legacy (v1) discovery documents. */
public final class Discovery {
  public record Res(String group, String version, String plural, String singular, String kind, boolean namespaced,
      List<String> shortNames, boolean status, boolean scale, List<String> categories) {}

  private static final Set<String> ALL_CATEGORY = Set.of("Pod", "Service", "Deployment", "StatefulSet", "DaemonSet",
      "ReplicaSet", "Job", "CronJob", "ReplicationController", "HorizontalPodAutoscaler");

  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final List<String> VERBS = List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch");

  private static Res r(String gv, String plural, String kind, boolean ns, String... shortNames) {
    String g = gv.contains("/") ? gv.substring(0, gv.indexOf('/')) : "";
    String v = gv.contains("/") ? gv.substring(gv.indexOf('/') + 1) : gv;
    boolean status = Set.of("Namespace", "Service", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
        "CronJob", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "PersistentVolumeClaim", "PersistentVolume",
        "Node", "CustomResourceDefinition", "ReplicationController", "ResourceQuota").contains(kind);
    boolean scale = Set.of("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController").contains(kind);
    return new Res(g, v, plural, kind.toLowerCase(Locale.ROOT), kind, ns, List.of(shortNames), status, scale,
        ALL_CATEGORY.contains(kind) ? List.of("all") : List.of());
  }

  public static final List<Res> BUILTIN = List.of(
      r("v1", "namespaces", "Namespace", false, "ns"),
      r("v1", "nodes", "Node", false, "no"),
      r("v1", "persistentvolumes", "PersistentVolume", false, "pv"),
      r("v1", "pods", "Pod", true, "po"),
      r("v1", "services", "Service", true, "svc"),
      r("v1", "serviceaccounts", "ServiceAccount", true, "sa"),
      r("v1", "configmaps", "ConfigMap", true, "cm"),
      r("v1", "secrets", "Secret", true),
      r("v1", "endpoints", "Endpoints", true, "ep"),
      r("v1", "events", "Event", true, "ev"),
      r("v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, "pvc"),
      r("v1", "replicationcontrollers", "ReplicationController", true, "rc"),
      r("v1", "resourcequotas", "ResourceQuota", true, "quota"),
      r("v1", "limitranges", "LimitRange", true, "limits"),
      r("apps/v1", "deployments", "Deployment", true, "deploy"),
      r("apps/v1", "statefulsets", "StatefulSet", true, "sts"),
      r("apps/v1", "daemonsets", "DaemonSet", true, "ds"),
      r("apps/v1", "replicasets", "ReplicaSet", true, "rs"),
      r("batch/v1", "jobs", "Job", true),
      r("batch/v1", "cronjobs", "CronJob", true, "cj"),
      r("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", false),
      r("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", false),
      r("rbac.authorization.k8s.io/v1", "roles", "Role", true),
      r("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", true),
      r("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", false, "crd", "crds"),
      r("networking.k8s.io/v1", "ingresses", "Ingress", true, "ing"),
      r("networking.k8s.io/v1", "ingressclasses", "IngressClass", false),
      r("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", true, "netpol"),
      r("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", true, "pdb"),
      r("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, "hpa"),
      r("coordination.k8s.io/v1", "leases", "Lease", true),
      r("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", true),
      r("events.k8s.io/v1", "events", "Event", true, "ev"),
      r("storage.k8s.io/v1", "storageclasses", "StorageClass", false, "sc"),
      r("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", false, "pc"),
      r("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false),
      r("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false));

  /** Resources declared by stored CustomResourceDefinitions (one Res per served version). */
  public static List<Res> fromCrds(JsonNode crdList) {
    List<Res> out = new ArrayList<>();
    for (JsonNode crd : crdList.path("items")) {
      JsonNode spec = crd.path("spec");
      JsonNode names = spec.path("names");
      List<String> shortNames = new ArrayList<>();
      names.path("shortNames").forEach(n -> shortNames.add(n.asText()));
      List<String> categories = new ArrayList<>();
      names.path("categories").forEach(n -> categories.add(n.asText()));
      for (JsonNode v : spec.path("versions")) {
        if (!v.path("served").asBoolean(true)) continue;
        out.add(new Res(spec.path("group").asText(), v.path("name").asText(), names.path("plural").asText(),
            names.path("singular").asText(names.path("kind").asText().toLowerCase(Locale.ROOT)), names.path("kind").asText(),
            !"Cluster".equals(spec.path("scope").asText()), shortNames,
            v.path("subresources").has("status"), v.path("subresources").has("scale"), categories));
      }
    }
    return out;
  }

  public static ObjectNode apiVersions(String serverAddress) {
    ObjectNode n = F.objectNode().put("kind", "APIVersions");
    n.putArray("versions").add("v1");
    n.putArray("serverAddressByClientCIDRs").addObject().put("clientCIDR", "0.0.0.0/0").put("serverAddress", serverAddress);
    return n;
  }

  /** kube-aware version priority: GA > beta > alpha, higher numbers first. */
  static int prio(String v) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("v(\\d+)(?:(alpha|beta)(\\d+))?").matcher(v);
    if (!m.matches()) return -1;
    int major = Integer.parseInt(m.group(1));
    int level = m.group(2) == null ? 3 : m.group(2).equals("beta") ? 2 : 1;
    int minor = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
    return level * 1_000_000 + major * 1000 + minor;
  }

  public static ObjectNode group(String name, Collection<String> versions) {
    List<String> sorted = new ArrayList<>(versions);
    sorted.sort(Comparator.comparingInt(Discovery::prio).reversed());
    ObjectNode g = F.objectNode().put("name", name);
    ArrayNode vs = g.putArray("versions");
    for (String v : sorted) vs.addObject().put("groupVersion", name + "/" + v).put("version", v);
    g.putObject("preferredVersion").put("groupVersion", name + "/" + sorted.get(0)).put("version", sorted.get(0));
    return g;
  }

  /** group -> versions (insertion ordered), excluding the core group. */
  public static Map<String, Set<String>> groups(List<Res> all) {
    Map<String, Set<String>> m = new LinkedHashMap<>();
    for (Res r : all) if (!r.group().isEmpty()) m.computeIfAbsent(r.group(), k -> new LinkedHashSet<>()).add(r.version());
    return m;
  }

  public static ObjectNode groupList(List<Res> all) {
    ObjectNode n = F.objectNode().put("kind", "APIGroupList").put("apiVersion", "v1");
    ArrayNode groups = n.putArray("groups");
    groups(all).forEach((g, vs) -> groups.add(group(g, vs)));
    return n;
  }

  /** null if the group/version is unknown. */
  public static ObjectNode resourceList(List<Res> all, String group, String version) {
    List<Res> rs = all.stream().filter(r -> r.group().equals(group) && r.version().equals(version)).toList();
    if (rs.isEmpty()) return null;
    ObjectNode n = F.objectNode().put("kind", "APIResourceList").put("apiVersion", "v1")
        .put("groupVersion", group.isEmpty() ? version : group + "/" + version);
    ArrayNode arr = n.putArray("resources");
    for (Res r : rs) {
      ObjectNode o = arr.addObject().put("name", r.plural()).put("singularName", r.singular()).put("namespaced", r.namespaced())
          .put("kind", r.kind());
      ArrayNode verbs = o.putArray("verbs");
      VERBS.forEach(verbs::add);
      if (!r.shortNames().isEmpty()) {
        ArrayNode sn = o.putArray("shortNames");
        r.shortNames().forEach(sn::add);
      }
      if (!r.categories().isEmpty()) {
        ArrayNode cs = o.putArray("categories");
        r.categories().forEach(cs::add);
      }
      if (r.status()) arr.addObject().put("name", r.plural() + "/status").put("singularName", "").put("namespaced", r.namespaced())
          .put("kind", r.kind()).putArray("verbs").add("get").add("patch").add("update");
      if (r.scale()) arr.addObject().put("name", r.plural() + "/scale").put("singularName", "").put("namespaced", r.namespaced())
          .put("group", "autoscaling").put("version", "v1").put("kind", "Scale").putArray("verbs").add("get").add("patch").add("update");
    }
    return n;
  }

  private Discovery() {}
}
