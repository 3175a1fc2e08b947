package io.mesh.testing.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * A custom resource as kube-apiserver serves it: stored once, at its CRD's storage version, and served at every served
 * version of the CRD (conversion strategy None: only {@code apiVersion} differs), so an object created at
 * {@code security.istio.io/v1beta1} is listed and watched at {@code v1} too. Fabric8's CRUD store keys objects by the
 * path's version; a request at another served version is rewritten to the storage version, and the answer back to the
 * version asked for. Pure.
 */
final class CrdVersions {
  private static final ObjectMapper JSON = new ObjectMapper();

  private CrdVersions() {
  }

  /** Rewrites one request at {@code /apis/GROUP/ASKED/...} to {@code STORAGE}, and its answer back. */
  record Rewrite(String group, String asked, String storage) {
    /** The path (with its query) at the storage version. */
    String path(String full) {
      return "/apis/" + group + "/" + storage + full.substring(("/apis/" + group + "/" + asked).length());
    }

    /** A request body naming the asked version names the storage version (what the store keeps). */
    byte[] request(byte[] body) {
      return swap(body, asked, storage);
    }

    /** An answer (an object, a list, a watch event) names the version asked for. */
    byte[] response(byte[] body) {
      return swap(body, storage, asked);
    }

    private byte[] swap(byte[] body, String from, String to) {
      if (body == null || body.length == 0 || body[0] != '{') {
        return body;
      }
      try {
        JsonNode n = JSON.readTree(body);
        set(n, from, to);
        n.path("items").forEach(i -> set(i, from, to));
        set(n.path("object"), from, to);
        return JSON.writeValueAsBytes(n);
      } catch (IOException e) {
        return body;
      }
    }

    private void set(JsonNode n, String from, String to) {
      if (n instanceof ObjectNode o && (group + "/" + from).equals(o.path("apiVersion").asText())) {
        o.put("apiVersion", group + "/" + to);
      }
    }
  }

  /**
   * The rewrite for a request path (without its query) to a custom resource at a served version that is not its
   * CRD's storage version; null for anything else (built-in kinds, discovery, the storage version, an unserved one).
   */
  static Rewrite of(String path, JsonNode crdList) {
    String[] seg = path.substring(1).split("/");
    if (seg.length < 4 || !seg[0].equals("apis")) {
      return null;
    }
    boolean namespaced = seg[3].equals("namespaces") && seg.length >= 6;
    String plural = namespaced ? seg[5] : seg[3];
    for (JsonNode crd : crdList.path("items")) {
      JsonNode spec = crd.path("spec");
      if (!spec.path("group").asText().equals(seg[1]) || !spec.path("names").path("plural").asText().equals(plural)) {
        continue;
      }
      String storage = null;
      boolean served = false;
      for (JsonNode v : spec.path("versions")) {
        if (v.path("storage").asBoolean(false)) {
          storage = v.path("name").asText();
        }
        served |= v.path("name").asText().equals(seg[2]) && v.path("served").asBoolean(true);
      }
      return served && storage != null && !storage.equals(seg[2]) ? new Rewrite(seg[1], seg[2], storage) : null;
    }
    return null;
  }
}
