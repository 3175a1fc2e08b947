package io.mesh.proto;

import com.google.protobuf.TypeRegistry;

/**
 * Every Envoy message the mesh packs into an {@code Any}: what pilot's generators send (HTTP connection manager, its
 * filters (Istio's in TypedStructs) and access loggers, TLS contexts, tcp_proxy, RBAC, listener filters, retry host predicates, upstream protocol options) and what
 * the gateway reads from a static bootstrap. Pilot's and the gateway's config dumps print with it, the bootstrap parser
 * reads with it, and pilot's golden test prints every generated resource through it, so a type pilot starts to send
 * cannot be missing where it is printed (a config dump would answer 500: "Cannot find type for url").
 */
public final class XdsTypes {

    public static final TypeRegistry REGISTRY = TypeRegistry.newBuilder()
            .add(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor())
            // Istio's filters (istio_authn, istio.metadata_exchange) are configured by TypedStructs.
            .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
            .add(com.github.udpa.udpa.type.v1.TypedStruct.getDescriptor())
            .build();

    private XdsTypes() {
    }
}
