package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code meshctl proxy-config PROXY secret}: the certificates a gateway holds, from its admin {@code /certs}, in
 * istioctl proxy-config secret's table: the proxy's own certificate ({@code default}, its leaf), the mesh roots
 * ({@code ROOTCA}, one row per root: two during a root rotation) and each SDS secret it took from pilot.
 */
final class ProxySecrets {

    static final List<String> COLUMNS = List.of("RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER",
            "NOT AFTER", "NOT BEFORE");

    record Row(String name, String type, String status, boolean valid, String serial, String notAfter, String notBefore) {
        List<String> cells() {
            return List.of(name, type, status, Boolean.toString(valid), serial, notAfter, notBefore);
        }
    }

    private ProxySecrets() {
    }

    /** The rows of the gateway's {@code /certs} at {@code now}: a chain by its leaf, trust bundles by each CA. */
    static List<Row> rows(JsonNode certs, Instant now) {
        List<Row> rows = new ArrayList<>();
        for (JsonNode entry : certs.path("certificates")) {
            String name = entry.path("name").asText("-");
            JsonNode chain = entry.path("cert_chain");
            if (chain.size() > 0) {
                rows.add(row(name, "Cert Chain", chain.get(0), now));
            }
            for (JsonNode ca : entry.path("ca_cert")) {
                rows.add(row(name, "CA", ca, now));
            }
        }
        return rows;
    }

    private static Row row(String name, String type, JsonNode details, Instant now) {
        String from = details.path("valid_from").asText("");
        String to = details.path("expiration_time").asText("");
        boolean valid;
        try {
            valid = !now.isBefore(Instant.parse(from)) && now.isBefore(Instant.parse(to));
        } catch (DateTimeParseException e) {
            valid = false;
        }
        return new Row(name, type, "ACTIVE", valid, details.path("serial_number").asText("-"), to, from);
    }

    static void table(JsonNode certs, Instant now, PrintWriter out) {
        Table.print(out, COLUMNS, rows(certs, now).stream().map(Row::cells).toList());
    }
}
