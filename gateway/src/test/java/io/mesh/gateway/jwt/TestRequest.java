package io.mesh.gateway.jwt;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A request as plain data for the filter's unit tests: method, URI and a header multimap that the filter edits. */
public final class TestRequest implements JwtRequest {

    public final String method;
    public String uri;
    public final Map<String, List<String>> headers = new LinkedHashMap<>();

    public TestRequest(String method, String uri, String... nameValues) {
        this.method = method;
        this.uri = uri;
        for (int i = 0; i < nameValues.length; i += 2) {
            addHeader(nameValues[i], nameValues[i + 1]);
        }
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public List<String> headerValues(String name) {
        return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    @Override
    public String rawQuery() {
        int q = uri.indexOf('?');
        return q < 0 ? null : uri.substring(q + 1);
    }

    @Override
    public void removeHeader(String name) {
        headers.remove(name.toLowerCase(Locale.ROOT));
    }

    @Override
    public void addHeader(String name, String value) {
        headers.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(value);
    }

    @Override
    public void removeQueryParam(String name) {
        String q = rawQuery();
        if (q == null) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String p : q.split("&")) {
            if (!p.startsWith(name + "=") && !p.equals(name)) {
                kept.add(p);
            }
        }
        String path = uri.substring(0, uri.indexOf('?'));
        uri = kept.isEmpty() ? path : path + "?" + String.join("&", kept);
    }

    @Override
    public String authority() {
        return "example";
    }

    @Override
    public String path() {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    @Override
    public String header(String name) {
        List<String> v = headerValues(name);
        return v.isEmpty() ? null : v.get(0);
    }

    @Override
    public String queryParam(String name) {
        return JwtExtractor.query(rawQuery()).get(name);
    }
}
