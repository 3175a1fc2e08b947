package io.mesh.gateway.proxy;

import io.mesh.config.AttributeExpression;
import io.vertx.core.net.SocketAddress;
import java.util.AbstractMap;
import java.util.Map;
import java.util.Set;

/**
 * Envoy's attributes, as Istio's metric tag expressions read them, over what this proxy knows of a finished request
 * ({@link Request}) or of a TCP connection once its peer is known ({@link Connection}). Built only for chains with stats
 * overrides, once per request or connection; an attribute this proxy does not have is absent (the tag's value is then
 * "unknown", as Istio's stats filter reports an expression without a value).
 */
final class StatsAttributes {

    private StatsAttributes() {
    }

    /** A request: {@code inbound} is a sidecar's inbound side (the peer is then the downstream, else the upstream). */
    record Request(ExchangeRecord ex, boolean inbound) implements AttributeExpression.Activation {
        @Override
        public Object attribute(String root, String field) {
            return switch (root) {
                case "request" -> switch (field) {
                    case "host" -> ex.authority();
                    case "method" -> ex.method();
                    case "path" -> ex.uri();
                    case "url_path" -> urlPath(ex.uri());
                    case "protocol" -> ex.protocol();
                    case "headers" -> new Headers(ex, Headers.REQUEST);
                    case "id" -> ex.requestHeader("x-request-id");
                    case "useragent" -> ex.requestHeader("user-agent");
                    case "referer" -> ex.requestHeader("referer");
                    case "size" -> ex.bytesReceived();
                    case "scheme" -> ex.header(":scheme");
                    case "query" -> query(ex.uri());
                    case "time" -> java.time.Instant.now().minusNanos(System.nanoTime() - ex.startNanos());
                    case "duration" -> java.time.Duration.ofNanos((ex.endNanos != 0 ? ex.endNanos : System.nanoTime())
                            - ex.startNanos());
                    default -> null;
                };
                case "response" -> switch (field) {
                    case "code" -> (long) ex.status();
                    case "grpc_status" -> grpcStatus(ex.grpcStatus());
                    case "flags" -> ResponseFlag.envoyBits(ex.flags());
                    case "code_details" -> ResponseCodeDetails.of(ex);
                    case "size" -> ex.bytesSent();
                    case "headers" -> new Headers(ex, Headers.RESPONSE);
                    case "trailers" -> new Headers(ex, Headers.TRAILERS);
                    default -> null;
                };
                case "source" -> address(ex.downstream() != null ? ex.downstream().source() : null, ex.remoteAddress(), field);
                case "destination" -> address(ex.downstream() != null ? ex.downstream().originalDst() : null, null, field);
                case "upstream" -> switch (field) {
                    case "transport_failure_reason" -> ex.upstreamTransportFailure();
                    case "local_address" -> ex.upstreamLocalAddress();
                    default -> address(null, ex.upstreamHost(), field);
                };
                case "connection" -> switch (field) {
                    case "mtls" -> ex.downstream() != null && ex.downstream().peerPrincipal() != null;
                    case "requested_server_name" -> ex.requestedServerName();
                    case "id" -> ex.connectionId();
                    default -> tls(ex.downstreamTls(), field);
                };
                case "xds" -> field.equals("cluster_name") ? ex.clusterName() : ex.routeName();
                case "upstream_peer" -> inbound ? null : peer(ex.peer(), field);
                case "downstream_peer" -> inbound ? peer(ex.peer(), field) : null;
                default -> null;
            };
        }
    }

    /** A TCP connection: its cluster, its peer's workload (null: unknown), its side and mTLS peer's SPIFFE ID (or null). */
    record Connection(String cluster, PeerWorkload workload, boolean inbound, String peerPrincipal)
            implements AttributeExpression.Activation {
        @Override
        public Object attribute(String root, String field) {
            return switch (root) {
                case "xds" -> field.equals("cluster_name") ? cluster : null;
                case "connection" -> field.equals("mtls") ? peerPrincipal != null : null;
                case "upstream_peer" -> inbound ? null : peer(workload, field);
                case "downstream_peer" -> inbound ? peer(workload, field) : null;
                default -> null;
            };
        }
    }

    /**
     * Envoy's TLS attributes of a downstream connection ({@code tls} null: plaintext, all absent): the version, the first
     * URI and DNS SAN and the subject of the peer's and the local certificate, the peer certificate's SHA-256 digest.
     */
    static Object tls(io.mesh.gateway.model.ConnectionTls tls, String field) {
        if (tls == null) {
            return null;
        }
        return switch (field) {
            case "tls_version" -> tls.version();
            case "uri_san_peer_certificate" -> io.mesh.gateway.model.ConnectionTls.first(tls.peerUriSans());
            case "uri_san_local_certificate" -> io.mesh.gateway.model.ConnectionTls.first(tls.localUriSans());
            case "dns_san_peer_certificate" -> io.mesh.gateway.model.ConnectionTls.first(tls.peerDnsSans());
            case "dns_san_local_certificate" -> io.mesh.gateway.model.ConnectionTls.first(tls.localDnsSans());
            case "subject_peer_certificate" -> tls.peerSubject();
            case "subject_local_certificate" -> tls.localSubject();
            case "sha256_peer_certificate_digest" -> tls.peerSha256();
            default -> null;
        };
    }

    /** Istio's peer fields from the metadata exchange (null without one). */
    static Object peer(PeerWorkload p, String field) {
        if (p == null) {
            return null;
        }
        return switch (field) {
            case "app" -> p.app();
            case "version" -> p.version();
            case "service" -> p.canonicalService();
            case "revision" -> p.canonicalRevision();
            case "workload" -> p.workload();
            case "namespace" -> p.namespace();
            case "cluster" -> p.cluster();
            default -> null;
        };
    }

    private static String urlPath(String uri) {
        if (uri == null) {
            return null;
        }
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** Envoy's {@code request.query}: the part after '?' up to a '#', empty without one. */
    private static String query(String uri) {
        if (uri == null) {
            return null;
        }
        int q = uri.indexOf('?');
        if (q < 0) {
            return "";
        }
        int fragment = uri.indexOf('#', q + 1);
        return fragment < 0 ? uri.substring(q + 1) : uri.substring(q + 1, fragment);
    }

    private static Long grpcStatus(String s) {
        try {
            return s == null || s.isEmpty() ? null : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** {@code address} or {@code port} of {@code a}, else of {@code hostPort} ("host:port"); null when neither says. */
    private static Object address(SocketAddress a, String hostPort, String field) {
        if (a != null && a.hostAddress() != null) {
            return field.equals("port") ? (Object) (long) a.port() : a.hostAddress();
        }
        if (hostPort != null) {
            int colon = hostPort.lastIndexOf(':');
            if (colon > 0) {
                try {
                    return field.equals("port") ? (Object) Long.parseLong(hostPort.substring(colon + 1))
                            : hostPort.substring(0, colon);
                } catch (NumberFormatException e) {
                    return null;
                }
            }
        }
        return null;
    }

    /**
     * The request's headers as they arrived, the response's as sent downstream, or its trailers, as CEL's map: looked
     * up by name (lower case), never listed (the parser refuses what would list them). The response's are there only
     * when the path kept them, which it does when an expression of the chain names one.
     */
    private static final class Headers extends AbstractMap<Object, Object> {
        static final int REQUEST = 0;
        static final int RESPONSE = 1;
        static final int TRAILERS = 2;
        private final ExchangeRecord ex;
        private final int kind;

        Headers(ExchangeRecord ex, int kind) {
            this.ex = ex;
            this.kind = kind;
        }

        @Override
        public Object get(Object key) {
            if (!(key instanceof String k)) {
                return null;
            }
            String name = k.toLowerCase(java.util.Locale.ROOT);
            return switch (kind) {
                case REQUEST -> ex.requestHeader(name);
                case RESPONSE -> ex.responseHeader(name);
                default -> ex.responseTrailers == null ? null : ex.responseTrailers.get(name);
            };
        }

        @Override
        public boolean containsKey(Object key) {
            return get(key) != null;
        }

        @Override
        public Set<Map.Entry<Object, Object>> entrySet() {
            throw new UnsupportedOperationException("headers are looked up by name");
        }
    }
}
