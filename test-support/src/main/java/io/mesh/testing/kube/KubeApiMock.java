package io.mesh.testing.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.VersionInfo;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.fabric8.mockwebserver.dsl.MockServerExpectation;
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.MockServerExpectationImpl;
import io.fabric8.mockwebserver.vertx.HttpServerRequestHandler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SelfSignedCertificate;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fabric8 CRUD mock server made usable by the real kubectl: dynamic discovery (incl. CRDs applied at runtime),
 * a minimal OpenAPI v3 (so kubectl's default --validate=strict works), strategic-merge / server-side-apply
 * emulation, RFC 7386 merge patch, and dryRun=All that does not persist.
 */
public final class KubeApiMock implements AutoCloseable {
  private static final ObjectMapper JSON = Serialization.jsonMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final String LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

  private static final Set<String> BUILTIN_GROUPS = Discovery.BUILTIN.stream().map(Discovery.Res::group)
      .collect(java.util.stream.Collectors.toSet());

  private final boolean verbose;
  private final boolean https;
  private final Vertx vertx = Vertx.vertx();
  private final Map<ServerRequest, Queue<ServerResponse>> responses = new ConcurrentHashMap<>();
  private final ApiDispatcher dispatcher = new ApiDispatcher(responses);
  private HttpServer http;

  private KubeApiMock(boolean https, boolean verbose) {
    this.https = https;
    this.verbose = verbose;
  }

  /** port 0 = random free port. */
  public static KubeApiMock start(int port, boolean https, boolean verbose) throws Exception {
    KubeApiMock m = new KubeApiMock(https, verbose);
    HttpServerOptions o = new HttpServerOptions().setHost("127.0.0.1").setPort(port)
        .setWebSocketSubProtocols(List.of("v1.channel.k8s.io", "v2.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"))
        .setHandle100ContinueAutomatically(true);
    if (https) {
      SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
      o.setSsl(true).setKeyCertOptions(cert.keyCertOptions()).setUseAlpn(true)
          .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
    }
    HttpServerRequestHandler mockHandler = new HttpServerRequestHandler(m.vertx) {
      @Override protected MockResponse onHttpRequest(RecordedRequest request) { return m.dispatcher.dispatch(request); }
    };
    m.http = m.vertx.createHttpServer(o).requestHandler(req -> {
      if (m.dispatcher.isHttpWatch(req)) m.dispatcher.streamWatch(req);
      else mockHandler.handle(req);
    });
    m.http.listen().toCompletionStage().toCompletableFuture().get();
    return m;
  }

  /** e.g. http://127.0.0.1:18445 (no trailing slash) */
  public String url() {
    return (https ? "https" : "http") + "://127.0.0.1:" + http.actualPort();
  }

  /** fabric8 MockWebServer-style expectations; they take precedence over the CRUD store. */
  public MockServerExpectation expect() { return new MockServerExpectationImpl(responses, new Context(JSON)); }

  /** Drop all stored objects and expectations. */
  public void reset() { responses.clear(); dispatcher.reset(); }

  /** fabric8 client configured for this server. */
  public KubernetesClient client(String namespace) {
    return new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(url()).withTrustCerts(true)
        .withNamespace(namespace).withOauthToken("mock-token").withHttp2Disable(true).build()).build();
  }

  public String kubeconfig(String namespace) {
    return "apiVersion: v1\nkind: Config\nclusters:\n- name: mock\n  cluster:\n    server: " + url() + "\n"
        + (url().startsWith("https") ? "    insecure-skip-tls-verify: true\n" : "")
        + "contexts:\n- name: mock\n  context:\n    cluster: mock\n    user: mock\n    namespace: " + namespace + "\n"
        + "current-context: mock\nusers:\n- name: mock\n  user:\n    token: mock-token\n";
  }

  public Path writeKubeconfig(Path file, String namespace) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    return Files.writeString(file, kubeconfig(namespace));
  }

  @Override public void close() {
    try {
      http.close().toCompletionStage().toCompletableFuture().get();
    } catch (Exception ignored) {
      // best effort
    }
    vertx.close();
  }

  // ------------------------------------------------------------------------------------------------------------------

  private final class ApiDispatcher extends Dispatcher {
    private final Map<ServerRequest, Queue<ServerResponse>> responses;
    private final MockDispatcher expectations;
    private final KubernetesCrudDispatcher crud = new KubernetesCrudDispatcher();
    /** server-side apply: (object path, fieldManager) -> last applied config, to compute removals. */
    private final Map<String, JsonNode> ssaLastApplied = new ConcurrentHashMap<>();

    ApiDispatcher(Map<ServerRequest, Queue<ServerResponse>> responses) {
      this.responses = responses;
      this.expectations = new MockDispatcher(responses);
    }

    void reset() { crud.reset(); ssaLastApplied.clear(); }

    // ------------------------------------------------------------------------------ plain-HTTP (chunked) watch

    boolean isHttpWatch(HttpServerRequest req) {
      String w = req.getParam("watch");
      return req.method() == io.vertx.core.http.HttpMethod.GET && ("true".equals(w) || "1".equals(w))
          && !"websocket".equalsIgnoreCase(req.getHeader("Upgrade"));
    }

    /** Streams the CRUD store's watch events as newline-delimited JSON, like kube-apiserver does. */
    void streamWatch(HttpServerRequest req) {
      try {
        MockResponse uninstalled = uninstalled(req.path());
        if (uninstalled != null) {
          req.response().setStatusCode(uninstalled.code()).putHeader("Content-Type", "application/json")
              .end(uninstalled.getBody().readUtf8());
          return;
        }
      } catch (IOException e) {
        req.response().setStatusCode(500).end(e.getMessage());
        return;
      }
      final long sinceRv = parseLong(req.getParam("resourceVersion"));
      final CrdVersions.Rewrite rw;
      try {
        rw = crdRewrite(req.uri());
      } catch (IOException e) {
        req.response().setStatusCode(500).end(e.getMessage());
        return;
      }
      final MockResponse wr = crud.handleGet(rw == null ? req.uri() : rw.path(req.uri())); // -> WatchEventsListener registered on open
      final WebSocketListener listener = wr.getWebSocketListener();
      final HttpServerResponse resp = req.response().setChunked(true).setStatusCode(200)
          .putHeader("Content-Type", "application/json").putHeader("Transfer-Encoding", "chunked");
      resp.writeHead();
      if (verbose) System.out.println("WATCH(http) " + req.uri());
      WebSocket sink = new WebSocket() {
        @Override public RecordedRequest request() { return null; }
        @Override public boolean send(String text) {
          try {
            JsonNode ev = JSON.readTree(text);
            long rv = parseLong(ev.path("object").path("metadata").path("resourceVersion").asText());
            // the CRUD watch replays existing objects as ADDED; a real apiserver only sends changes after resourceVersion
            if (sinceRv > 0 && "ADDED".equals(ev.path("type").asText()) && rv <= sinceRv) return true;
          } catch (IOException e) {
            return false;
          }
          if (rw != null) text = new String(rw.response(text.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
          if (!resp.ended() && !resp.closed()) resp.write(text + "\n");
          return true;
        }
        @Override public boolean send(byte[] bytes) { return send(new String(bytes, StandardCharsets.UTF_8)); }
        @Override public boolean close(int code, String reason) {
          if (!resp.ended() && !resp.closed()) resp.end();
          return true;
        }
      };
      Runnable closeListener = () -> new Thread(() -> listener.onClosed(sink, 1000, "closed")).start();
      resp.closeHandler(v -> closeListener.run());
      long timeout = parseLong(req.getParam("timeoutSeconds"));
      if (timeout > 0) vertx.setTimer(timeout * 1000, t -> { sink.close(1000, "timeout"); closeListener.run(); });
      listener.onOpen(sink, null);
    }

    @Override public MockResponse dispatch(RecordedRequest req) {
      MockResponse resp;
      try {
        CrdVersions.Rewrite rw = crdRewrite(req.getPath());
        resp = route(rw == null ? req : new RecordedRequest(req.getHttpVersion(), req.method(), rw.path(req.getPath()),
            req.getHeaders(), new Buffer(rw.request(req.getBody().getBytes()))));
        if (rw != null && resp.getWebSocketListener() == null && resp.getBody() != null && resp.getBody().size() > 0) {
          resp.setBody(new Buffer(rw.response(resp.getBody().getBytes())));
        }
      } catch (Exception e) {
        resp = status(500, "InternalError", e.toString());
      }
      if (resp.getWebSocketListener() == null && resp.getBody() != null && resp.getBody().size() > 0
          && resp.header("Content-Type") == null) {
        resp.setHeader("Content-Type", "application/json");
      }
      if (verbose) {
        System.out.println(req.getMethod() + " " + req.getPath() + " [" + req.getHeader("Content-Type") + "] -> " + resp.code());
      }
      return resp;
    }

    private MockResponse route(RecordedRequest req) throws Exception {
      // 1. explicit expectations (server.expect()...) win, as in fabric8's mixed mode
      Queue<ServerResponse> q = responses.get(new SimpleRequest(req.method(), req.getPath()));
      if (q != null && !q.isEmpty()) return expectations.dispatch(req);

      String full = req.getPath();
      int qi = full.indexOf('?');
      String path = qi < 0 ? full : full.substring(0, qi);
      Map<String, String> query = parseQuery(qi < 0 ? "" : full.substring(qi + 1));
      if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
      boolean dryRun = query.containsKey("dryRun");

      String ct = req.getHeader("Content-Type");
      if (ct != null && ct.contains("protobuf")) {
        return status(415, "UnsupportedMediaType", "protobuf request bodies are not supported by this mock "
            + "(kubectl create <type>: use --dry-run=client -o yaml | kubectl apply -f -)");
      }
      MockResponse uninstalled = uninstalled(path);
      if (uninstalled != null) return uninstalled;
      if (isScale(path)) return scale(req, path, dryRun);
      if (req.method() == HttpMethod.GET) {
        MockResponse d = discovery(path);
        if (d != null) return d;
        if ("true".equals(query.get("watch")) && req.getHeader("Upgrade") == null) {
          // normally intercepted by streamWatch() in the Vert.x front; only reached if dispatch() is used directly
          return status(405, "MethodNotAllowed", "HTTP streaming watch is not supported by this mock (use WebSocket)");
        }
        return notFoundBody(crud.dispatch(req), path);
      }
      switch (req.method()) {
        case PATCH:
          return patch(req, path, query, dryRun);
        case POST:
          if (dryRun) return dryCreate(req, path);
          return crud.dispatch(withPath(req, path));
        case PUT:
          if (dryRun) {
            JsonNode cur = get(path);
            return cur == null ? notFound(path) : json(200, JSON.readTree(req.getBody().getBytes()));
          }
          return notFoundBody(crud.dispatch(withPath(req, path)), path);
        case DELETE:
          if (dryRun) {
            JsonNode cur = get(path);
            return cur == null ? notFound(path) : json(200, cur);
          }
          return notFoundBody(crud.dispatch(withPath(req, path)), path);
        default:
          return crud.dispatch(req);
      }
    }

    /**
     * A real API server answers 404 for a resource of an API group it does not serve, such as a custom resource
     * whose CRD is not installed; the CRUD store alone would serve any path. Built-in groups are left to the store.
     */
    private MockResponse uninstalled(String path) throws IOException {
      String[] seg = path.substring(1).split("/");
      if (seg.length < 4 || !seg[0].equals("apis") || BUILTIN_GROUPS.contains(seg[1])) return null;
      boolean namespaced = seg[3].equals("namespaces") && seg.length >= 6;
      String plural = namespaced ? seg[5] : seg[3];
      boolean served = resources().stream().anyMatch(r -> r.group().equals(seg[1]) && r.version().equals(seg[2])
          && r.plural().equals(plural));
      return served ? null : status(404, "NotFound", "the server could not find the requested resource");
    }

    /** A custom resource asked for at a served version other than its storage one (full path, query kept), else null. */
    private CrdVersions.Rewrite crdRewrite(String full) throws IOException {
      int qi = full.indexOf('?');
      String path = qi < 0 ? full : full.substring(0, qi);
      String[] seg = path.substring(1).split("/");
      if (seg.length < 4 || !seg[0].equals("apis") || BUILTIN_GROUPS.contains(seg[1])) return null;
      MockResponse crds = crud.handleGet("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
      return CrdVersions.of(path, JSON.readTree(crds.getBody().getBytes()));
    }

    // --------------------------------------------------------------------------------------------- discovery / openapi

    private List<Discovery.Res> resources() throws IOException {
      List<Discovery.Res> all = new ArrayList<>(Discovery.BUILTIN);
      MockResponse crds = crud.handleGet("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
      all.addAll(Discovery.fromCrds(JSON.readTree(crds.getBody().getBytes())));
      return all;
    }

    private MockResponse discovery(String path) throws IOException {
      switch (path) {
        case "/version":
          return json(200, JSON.valueToTree(new VersionInfo.Builder().withMajor("1").withMinor("32")
              .withGitVersion("v1.32.0").withPlatform("linux/amd64").build()));
        case "/healthz": case "/livez": case "/readyz":
          return new MockResponse().setResponseCode(200).setBody("ok").setHeader("Content-Type", "text/plain");
        case "/api":
          return json(200, Discovery.apiVersions(url().replaceFirst("^https?://", "")));
        case "/apis":
          return json(200, Discovery.groupList(resources()));
        case "/openapi/v2":
          return status(404, "NotFound", "openapi v2 is not served by this mock");
        case "/openapi/v3":
          return json(200, openApiRoot(resources()));
        default:
      }
      if (path.startsWith("/openapi/v3/")) {
        String gvPath = path.substring("/openapi/v3/".length()); // api/v1 or apis/g/v
        String[] p = gvPath.split("/");
        String group = p[0].equals("api") ? "" : p.length == 3 ? p[1] : null;
        String version = p[p.length - 1];
        List<Discovery.Res> rs = group == null ? List.of() : resources().stream()
            .filter(r -> r.group().equals(group) && r.version().equals(version)).toList();
        return rs.isEmpty() ? status(404, "NotFound", "no openapi for " + gvPath) : json(200, openApiGv(rs));
      }
      String[] seg = path.substring(1).split("/");
      if (seg.length == 2 && seg[0].equals("api")) {
        ObjectNode l = Discovery.resourceList(resources(), "", seg[1]);
        return l == null ? status(404, "NotFound", "the server could not find the requested resource") : json(200, l);
      }
      if (seg[0].equals("apis") && seg.length == 2) {
        Set<String> vs = Discovery.groups(resources()).get(seg[1]);
        return vs == null ? status(404, "NotFound", "the server could not find the requested resource")
            : json(200, Discovery.group(seg[1], vs).put("kind", "APIGroup").put("apiVersion", "v1"));
      }
      if (seg[0].equals("apis") && seg.length == 3) {
        ObjectNode l = Discovery.resourceList(resources(), seg[1], seg[2]);
        return l == null ? status(404, "NotFound", "the server could not find the requested resource") : json(200, l);
      }
      return null;
    }

    private ObjectNode openApiRoot(List<Discovery.Res> all) throws IOException {
      ObjectNode root = F.objectNode();
      ObjectNode paths = root.putObject("paths");
      Map<String, List<Discovery.Res>> byGv = new LinkedHashMap<>();
      for (Discovery.Res r : all) {
        byGv.computeIfAbsent(r.group().isEmpty() ? "api/" + r.version() : "apis/" + r.group() + "/" + r.version(),
            k -> new ArrayList<>()).add(r);
      }
      for (Map.Entry<String, List<Discovery.Res>> e : byGv.entrySet()) {
        String hash = Integer.toHexString(JSON.writeValueAsString(openApiGv(e.getValue())).hashCode());
        paths.putObject(e.getKey()).put("serverRelativeURL", "/openapi/v3/" + e.getKey() + "?hash=" + hash);
      }
      return root;
    }

    /** Minimal OpenAPI v3 doc: one PATCH op per resource, tagged with its GVK and the fieldValidation param. */
    private ObjectNode openApiGv(List<Discovery.Res> rs) {
      ObjectNode doc = F.objectNode().put("openapi", "3.0.0");
      doc.putObject("info").put("title", "Kubernetes").put("version", "v1.32.0");
      ObjectNode paths = doc.putObject("paths");
      for (Discovery.Res r : rs) {
        String base = r.group().isEmpty() ? "/api/" + r.version() : "/apis/" + r.group() + "/" + r.version();
        String p = base + (r.namespaced() ? "/namespaces/{namespace}/" : "/") + r.plural() + "/{name}";
        ObjectNode patch = paths.putObject(p).putObject("patch");
        patch.putObject("x-kubernetes-group-version-kind").put("group", r.group()).put("version", r.version()).put("kind", r.kind());
        ArrayNode params = patch.putArray("parameters");
        for (String n : List.of("dryRun", "fieldManager", "fieldValidation", "force")) {
          params.addObject().put("name", n).put("in", "query").putObject("schema").put("type", "string");
        }
        patch.putObject("responses").putObject("200").put("description", "OK");
      }
      doc.putObject("components").putObject("schemas");
      return doc;
    }

    // ---------------------------------------------------------------------------------------------------- writes

    private MockResponse patch(RecordedRequest req, String path, Map<String, String> query, boolean dryRun) throws Exception {
      String ct = Optional.ofNullable(req.getHeader("Content-Type")).orElse("application/json-patch+json");
      byte[] body = req.getBody().getBytes();
      JsonNode current = get(path);
      JsonNode result;
      if (ct.startsWith("application/apply-patch")) {
        JsonNode applied = YAML.readTree(body);
        String key = path.replaceAll("/status$", "") + "#" + query.getOrDefault("fieldManager", "");
        if (current == null) {
          ObjectNode obj = (ObjectNode) applied;
          MockResponse created = dryRun ? dryCreate(bodyRequest(HttpMethod.POST, collectionPath(path), obj), collectionPath(path))
              : crud.dispatch(bodyRequest(HttpMethod.POST, collectionPath(path), obj));
          if (!dryRun && created.code() < 300) ssaLastApplied.put(key, applied);
          return created;
        }
        result = threeWay(current, ssaLastApplied.get(key), applied);
        if (!dryRun) ssaLastApplied.put(key, applied);
      } else if (current == null) {
        return notFound(path);
      } else if (ct.startsWith("application/strategic-merge-patch")) {
        JsonNode p = JSON.readTree(body);
        JsonNode newLast = p.path("metadata").path("annotations").path(LAST_APPLIED);
        if (newLast.isTextual()) {
          // kubectl client-side apply: recompute the 3-way merge from the last-applied annotations
          JsonNode oldLastText = current.path("metadata").path("annotations").path(LAST_APPLIED);
          JsonNode oldLast = oldLastText.isTextual() ? JSON.readTree(oldLastText.asText()) : null;
          result = threeWay(current, oldLast, JSON.readTree(newLast.asText()));
          ((ObjectNode) result.path("metadata")).with("annotations").put(LAST_APPLIED, newLast.asText());
        } else {
          result = strategicMerge(current, p);
        }
      } else {
        result = applyPatch(ct, body, current);
        if (result == null) return status(415, "UnsupportedMediaType", "unsupported patch type " + ct);
      }
      if (dryRun) return json(200, result);
      return crud.dispatch(bodyRequest(HttpMethod.PUT, path, result));
    }

    private boolean isScale(String path) {
      String[] seg = path.substring(1).split("/");
      int base = seg[0].equals("api") ? 2 : seg[0].equals("apis") ? 3 : -1;
      if (base < 0 || seg.length <= base) return false;
      String[] rest = Arrays.copyOfRange(seg, base, seg.length);
      boolean ns = rest[0].equals("namespaces");
      return rest[rest.length - 1].equals("scale") && rest.length == (ns ? 5 : 3);
    }

    /** autoscaling/v1 Scale subresource backed by the parent's spec.replicas (used by kubectl scale). */
    private MockResponse scale(RecordedRequest req, String path, boolean dryRun) throws Exception {
      String parentPath = path.substring(0, path.length() - "/scale".length());
      JsonNode parent = get(parentPath);
      if (parent == null) return notFound(parentPath);
      JsonNode scale = toScale(parent);
      JsonNode wanted;
      switch (req.method()) {
        case GET: return json(200, scale);
        case PUT: wanted = JSON.readTree(req.getBody().getBytes()); break;
        case PATCH:
          wanted = applyPatch(Optional.ofNullable(req.getHeader("Content-Type")).orElse(""), req.getBody().getBytes(), scale);
          if (wanted == null) return status(415, "UnsupportedMediaType", "unsupported patch type");
          break;
        default: return status(405, "MethodNotAllowed", "method not allowed on scale");
      }
      ObjectNode updated = parent.deepCopy();
      updated.with("spec").put("replicas", wanted.path("spec").path("replicas").asInt());
      if (!dryRun) {
        MockResponse r = crud.dispatch(bodyRequest(HttpMethod.PUT, parentPath, updated));
        if (r.code() >= 300) return r;
        updated = (ObjectNode) JSON.readTree(r.getBody().getBytes());
      }
      return json(200, toScale(updated));
    }

    private ObjectNode toScale(JsonNode parent) {
      ObjectNode s = F.objectNode().put("kind", "Scale").put("apiVersion", "autoscaling/v1");
      JsonNode md = parent.path("metadata");
      ObjectNode smd = s.putObject("metadata");
      for (String f : List.of("name", "namespace", "uid", "resourceVersion", "creationTimestamp")) {
        if (md.has(f)) smd.set(f, md.get(f));
      }
      s.putObject("spec").put("replicas", parent.path("spec").path("replicas").asInt(1));
      StringJoiner sel = new StringJoiner(",");
      parent.path("spec").path("selector").path("matchLabels").fields()
          .forEachRemaining(e -> sel.add(e.getKey() + "=" + e.getValue().asText()));
      s.putObject("status").put("replicas", parent.path("status").path("replicas").asInt(0)).put("selector", sel.toString());
      return s;
    }

    private MockResponse dryCreate(RecordedRequest req, String path) throws IOException {
      ObjectNode obj = (ObjectNode) JSON.readTree(req.getBody().getBytes());
      ObjectNode md = obj.with("metadata");
      String name = md.path("name").asText("");
      if (get(path + "/" + name) != null) {
        return status(409, "AlreadyExists", obj.path("kind").asText() + " \"" + name + "\" already exists");
      }
      String[] seg = path.split("/");
      for (int i = 0; i < seg.length - 1; i++) if (seg[i].equals("namespaces") && i + 2 < seg.length) md.put("namespace", seg[i + 1]);
      md.put("uid", UUID.randomUUID().toString());
      md.put("creationTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
      md.put("generation", 1);
      return json(201, obj);
    }

    // ----------------------------------------------------------------------------------------------------- helpers

    private JsonNode get(String path) throws IOException {
      MockResponse r = crud.handleGet(path);
      return r.code() == 200 && r.getBody() != null && r.getBody().size() > 0 ? JSON.readTree(r.getBody().getBytes()) : null;
    }

    private RecordedRequest withPath(RecordedRequest req, String path) {
      return new RecordedRequest(req.getHttpVersion(), req.method(), path, req.getHeaders(), new Buffer(req.getBody().getBytes()));
    }

    private RecordedRequest bodyRequest(HttpMethod method, String path, JsonNode body) throws IOException {
      return new RecordedRequest("HTTP/1.1", method, path, Headers.builder().add("Content-Type", "application/json").build(),
          new Buffer(JSON.writeValueAsBytes(body)));
    }

    private String collectionPath(String objectPath) {
      return objectPath.substring(0, objectPath.lastIndexOf('/'));
    }

    private MockResponse notFoundBody(MockResponse r, String path) {
      return r.code() == 404 && (r.getBody() == null || r.getBody().size() == 0) ? notFound(path) : r;
    }

    private MockResponse notFound(String path) {
      String[] seg = path.split("/");
      String name = seg[seg.length - 1];
      String res = seg.length >= 2 ? seg[seg.length - 2] : "";
      ObjectNode s = statusNode(404, "NotFound", res + " \"" + name + "\" not found");
      s.putObject("details").put("name", name).put("kind", res);
      return json(404, s);
    }

    private ObjectNode statusNode(int code, String reason, String message) {
      ObjectNode s = F.objectNode().put("kind", "Status").put("apiVersion", "v1");
      s.putObject("metadata");
      return s.put("status", "Failure").put("message", message).put("reason", reason).put("code", code);
    }

    private MockResponse status(int code, String reason, String message) {
      return json(code, statusNode(code, reason, message));
    }

    private MockResponse json(int code, JsonNode body) {
      try {
        return new MockResponse().setResponseCode(code).setBody(JSON.writeValueAsString(body))
            .setHeader("Content-Type", "application/json");
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------- patch algebra

  private static long parseLong(String s) {
    try {
      return s == null || s.isEmpty() ? 0 : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static Map<String, String> parseQuery(String q) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String kv : q.split("&")) {
      if (kv.isEmpty()) continue;
      int i = kv.indexOf('=');
      m.put(URLDecoder.decode(i < 0 ? kv : kv.substring(0, i), StandardCharsets.UTF_8),
          i < 0 ? "" : URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8));
    }
    return m;
  }

  /** merge / json / (simplified) strategic patch; null for an unknown patch type. */
  static JsonNode applyPatch(String ct, byte[] body, JsonNode current) throws IOException {
    if (ct.startsWith("application/merge-patch")) return mergePatch(current, JSON.readTree(body));
    if (ct.startsWith("application/json-patch")) return JsonPatch.apply(JSON.readTree(body), current);
    if (ct.startsWith("application/strategic-merge-patch")) return strategicMerge(current, JSON.readTree(body));
    return null;
  }

  /** Apply "modified" on top of "current", removing fields that were in "original" but are no longer in "modified". */
  static JsonNode threeWay(JsonNode current, JsonNode original, JsonNode modified) {
    if (!modified.isObject() || current == null || !current.isObject()) return modified.deepCopy();
    ObjectNode out = current.deepCopy();
    modified.fields().forEachRemaining(e -> {
      JsonNode cv = current.get(e.getKey());
      JsonNode ov = original == null ? null : original.get(e.getKey());
      out.set(e.getKey(), e.getValue().isObject() && cv != null && cv.isObject() ? threeWay(cv, ov, e.getValue())
          : e.getValue().deepCopy());
    });
    if (original != null && original.isObject()) {
      original.fieldNames().forEachRemaining(k -> { if (!modified.has(k)) out.remove(k); });
    }
    return out;
  }

  /** RFC 7386 JSON merge patch. */
  static JsonNode mergePatch(JsonNode target, JsonNode patch) {
    if (!patch.isObject()) return patch.deepCopy();
    ObjectNode out = target != null && target.isObject() ? target.deepCopy() : F.objectNode();
    patch.fields().forEachRemaining(e -> {
      if (e.getValue().isNull()) out.remove(e.getKey());
      else out.set(e.getKey(), mergePatch(out.get(e.getKey()), e.getValue()));
    });
    return out;
  }

  /** Simplified strategic merge patch: maps merge, null deletes, lists of objects merge by "name" (else replace). */
  static JsonNode strategicMerge(JsonNode target, JsonNode patch) {
    if (!patch.isObject()) return patch.deepCopy();
    if ("replace".equals(patch.path("$patch").asText())) {
      ObjectNode p = patch.deepCopy();
      p.remove("$patch");
      return p;
    }
    ObjectNode out = target != null && target.isObject() ? target.deepCopy() : F.objectNode();
    patch.fields().forEachRemaining(e -> {
      String k = e.getKey();
      JsonNode v = e.getValue();
      if (k.startsWith("$setElementOrder/") || k.equals("$retainKeys") || k.equals("$patch")) return;
      if (k.startsWith("$deleteFromPrimitiveList/")) {
        String list = k.substring(k.indexOf('/') + 1);
        if (out.get(list) instanceof ArrayNode a) {
          for (int i = a.size() - 1; i >= 0; i--) for (JsonNode d : v) if (a.get(i).equals(d)) { a.remove(i); break; }
        }
        return;
      }
      if (v.isNull()) { out.remove(k); return; }
      JsonNode cur = out.get(k);
      if (v.isArray() && cur != null && cur.isArray() && allObjectsWith(v, "name") && allObjectsWith(cur, "name")) {
        ArrayNode merged = ((ArrayNode) cur).deepCopy();
        for (JsonNode pe : v) {
          int idx = -1;
          for (int i = 0; i < merged.size(); i++) if (merged.get(i).path("name").equals(pe.path("name"))) idx = i;
          if ("delete".equals(pe.path("$patch").asText())) { if (idx >= 0) merged.remove(idx); }
          else if (idx >= 0) merged.set(idx, strategicMerge(merged.get(idx), pe));
          else merged.add(strategicMerge(null, pe));
        }
        out.set(k, merged);
      } else {
        out.set(k, strategicMerge(cur, v));
      }
    });
    return out;
  }

  private static boolean allObjectsWith(JsonNode arr, String key) {
    for (JsonNode n : arr) if (!n.isObject() || !n.has(key)) return false;
    return true;
  }

  // ------------------------------------------------------------------------------------------------------------ main

  /** args: port [https=false] [kubeconfigPath=./kubeconfig] [verbose=false] */
  public static void main(String[] a) throws Exception {
    int port = a.length > 0 ? Integer.parseInt(a[0]) : 0;
    boolean https = a.length > 1 && Boolean.parseBoolean(a[1]);
    Path kc = Path.of(a.length > 2 ? a[2] : "kubeconfig");
    KubeApiMock m = start(port, https, a.length > 3 && Boolean.parseBoolean(a[3]));
    m.writeKubeconfig(kc, "default");
    Runtime.getRuntime().addShutdownHook(new Thread(m::close));
    System.out.println("READY " + m.url() + " kubeconfig=" + kc.toAbsolutePath());
    Thread.currentThread().join();
  }
}
