package io.mesh.pilot.generator;

import com.google.protobuf.Message;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Set;

/** (type, proxy, snapshot, names) -> resources: the one function the xDS server calls. */
@FunctionalInterface
public interface Generator {
    Generator DEFAULT = XdsGenerators::generate;

    List<? extends Message> generate(String typeUrl, ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names);
}
