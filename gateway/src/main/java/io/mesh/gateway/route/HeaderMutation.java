package io.mesh.gateway.route;

import io.vertx.core.MultiMap;
import java.util.List;

/** Headers to add (append or overwrite) and to remove, applied in Envoy's order: remove, then add. */
public record HeaderMutation(List<Add> add, List<String> remove) {

    public static final HeaderMutation NONE = new HeaderMutation(List.of(), List.of());

    public record Add(String name, String value, boolean append) {
    }

    public boolean isEmpty() {
        return add.isEmpty() && remove.isEmpty();
    }

    public void applyTo(MultiMap headers) {
        for (String r : remove) {
            headers.remove(r);
        }
        for (Add a : add) {
            if (a.append()) {
                headers.add(a.name(), a.value());
            } else {
                headers.set(a.name(), a.value());
            }
        }
    }
}
