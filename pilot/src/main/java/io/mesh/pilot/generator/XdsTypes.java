package io.mesh.pilot.generator;

import com.google.protobuf.TypeRegistry;

/** Every message type the generators pack into an Any, so config dumps and goldens can print them expanded. */
public final class XdsTypes {
    public static final TypeRegistry REGISTRY = TypeRegistry.newBuilder()
            .add(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDescriptor())
            .build();

    private XdsTypes() {
    }
}
