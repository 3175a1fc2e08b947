package io.mesh.gateway.proxy;

import io.mesh.gateway.jwt.IstioAuthn;
import io.mesh.gateway.jwt.JwtAuthn;
import io.mesh.gateway.jwt.JwtRequest;
import io.mesh.gateway.jwt.JwtStatus;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The chain's {@code envoy.filters.http.jwt_authn} filter (RequestAuthentication), and Istio's {@code istio_authn}
 * after it, before RBAC: a request whose tokens fail is answered as Envoy answers it (401, or 403 for audiences, with
 * jwt_verify_lib's text and a {@code www-authenticate: Bearer realm=...} header); a verified token's claim and
 * payload headers are added to the request, a token that is not forwarded is removed, and its payload and Istio's
 * {@code request.auth.*} attributes become the dynamic metadata RBAC's principals read.
 */
final class JwtAuthnInterceptor implements ProxyInterceptor {

    private static final Logger LOG = Logger.getLogger(JwtAuthnInterceptor.class);
    /** Envoy cuts the path in the realm at 256 characters. */
    private static final int MAX_REALM_PATH = 256;

    @Override
    public void onRequest(ProxyExchange ex) {
        JwtAuthn jwt = ex.chain == null ? null : ex.chain.jwtAuthn();
        if (jwt == null) {
            ex.next();
            return;
        }
        JwtAuthn.Outcome o = jwt.authenticate(new View(ex), System.currentTimeMillis() / 1000);
        if (o.status() != JwtStatus.OK) {
            LOG.debugf("jwt_authn refused %s %s: %s", ex.request.method(), ex.path(), o.status().text());
            ex.response.putHeader("www-authenticate", challenge(ex, o.status()));
            ex.codeDetails = ResponseCodeDetails.jwtDenied(o.status().text());
            ex.sendLocal(o.status().httpStatus(), null, o.status().text());
            return;
        }
        if (!o.metadata().isEmpty()) {
            ex.putMetadata("envoy.filters.http.jwt_authn", o.metadata());
        }
        if (jwt.istioAuthn()) {
            Map<String, Object> attrs = IstioAuthn.attributes(o.verified(), jwt.providers());
            if (attrs != null) {
                ex.putMetadata(IstioAuthn.FILTER, attrs);
            }
        }
        ex.next();
    }

    /** Envoy's {@code Bearer realm="<scheme>://<host><path>"}, plus {@code error="invalid_token"} unless it is missing. */
    static String challenge(ProxyExchange ex, JwtStatus status) {
        String path = ex.request.uri();
        if (path.length() > MAX_REALM_PATH) {
            path = path.substring(0, MAX_REALM_PATH);
        }
        String realm = "Bearer realm=\"" + (ex.request.isSSL() ? "https" : "http") + "://" + ex.authority() + path + "\"";
        return status == JwtStatus.MISSING ? realm : realm + ", error=\"invalid_token\"";
    }

    /** The exchange as the filter sees it: its headers are edited in place, so RBAC and routing see the result. */
    private record View(ProxyExchange ex) implements JwtRequest {

        @Override
        public String method() {
            return ex.request.method().name();
        }

        @Override
        public List<String> headerValues(String name) {
            return ex.request.headers().getAll(name);
        }

        @Override
        public String rawQuery() {
            return ex.forwardQuery();
        }

        @Override
        public void removeHeader(String name) {
            ex.request.headers().remove(name);
        }

        @Override
        public void addHeader(String name, String value) {
            ex.request.headers().add(name, value);
        }

        @Override
        public void removeQueryParam(String name) {
            String query = ex.forwardQuery();
            if (query == null) {
                return;
            }
            StringBuilder kept = new StringBuilder(query.length());
            for (String pair : query.split("&", -1)) {
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                if (!decode(key).equals(name)) {
                    kept.append(kept.length() == 0 ? "" : "&").append(pair);
                }
            }
            String uri = ex.forwardUri();
            String path = uri.substring(0, uri.indexOf('?'));
            ex.forwardUri = kept.length() == 0 ? path : path + "?" + kept;
        }

        private static String decode(String s) {
            try {
                return java.net.URLDecoder.decode(s.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return s;
            }
        }

        @Override
        public String authority() {
            return ex.authority();
        }

        @Override
        public String path() {
            return ex.path();
        }

        @Override
        public String header(String name) {
            return ex.header(name);
        }

        @Override
        public String queryParam(String name) {
            return ex.queryParam(name);
        }
    }
}
