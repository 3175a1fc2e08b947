package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** meshctl proxy-config secret's table, from a gateway's admin /certs as the gateway writes it (CertsView). */
class ProxySecretsTest {

    private static final String CERTS = """
            {"certificates": [
              {"name": "default", "cert_chain": [
                 {"path": "<inline>", "serial_number": "5c1e", "subject_alt_names": [{"uri": "spiffe://cluster.local/ns/istio-system/sa/gw"}],
                  "days_until_expiration": "0", "valid_from": "2026-11-27T21:00:00Z", "expiration_time": "2026-11-28T21:00:00Z"},
                 {"path": "<inline>", "serial_number": "1", "subject_alt_names": [],
                  "days_until_expiration": "3650", "valid_from": "2026-01-01T00:00:00Z", "expiration_time": "2036-01-01T00:00:00Z"}],
               "ca_cert": []},
              {"name": "ROOTCA", "ca_cert": [
                 {"path": "<inline>", "serial_number": "1", "subject_alt_names": [],
                  "days_until_expiration": "3650", "valid_from": "2026-01-01T00:00:00Z", "expiration_time": "2036-01-01T00:00:00Z"},
                 {"path": "<inline>", "serial_number": "2", "subject_alt_names": [],
                  "days_until_expiration": "0", "valid_from": "2016-01-01T00:00:00Z", "expiration_time": "2026-01-01T00:00:00Z"}],
               "cert_chain": []},
              {"name": "kubernetes://db", "cert_chain": [
                 {"path": "<inline>", "serial_number": "db01", "subject_alt_names": [{"dns": "db.example"}],
                  "days_until_expiration": "0", "valid_from": "2026-12-01T00:00:00Z", "expiration_time": "2027-12-01T00:00:00Z"}],
               "ca_cert": []}]}
            """;

    @Test
    void eachSecretIsARowOfItsLeafAndEachRootARowOfItsOwnValidAtThatMoment() throws Exception {
        JsonNode certs = new ObjectMapper().readTree(CERTS);
        StringWriter out = new StringWriter();
        ProxySecrets.table(certs, Instant.parse("2026-11-27T22:00:00Z"), new PrintWriter(out, true));
        assertEquals("""
                RESOURCE NAME    TYPE        STATUS  VALID CERT  SERIAL NUMBER  NOT AFTER             NOT BEFORE
                default          Cert Chain  ACTIVE  true        5c1e           2026-11-28T21:00:00Z  2026-11-27T21:00:00Z
                ROOTCA           CA          ACTIVE  true        1              2036-01-01T00:00:00Z  2026-01-01T00:00:00Z
                ROOTCA           CA          ACTIVE  false       2              2026-01-01T00:00:00Z  2016-01-01T00:00:00Z
                kubernetes://db  Cert Chain  ACTIVE  false       db01           2027-12-01T00:00:00Z  2026-12-01T00:00:00Z
                """, out.toString());
    }
}
