package io.mesh.pilot.config;

import static io.mesh.pilot.config.ConfigValidatorTest.validate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigValidator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ServiceEntry checks beyond the table in {@link ConfigValidatorTest}: port ranges and istioctl's IST0134 warning. */
class ServiceEntryValidationTest {

    static String entry(String addresses, String resolution, String ports, String more) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db.example.com]
                  addresses: %s
                  resolution: %s
                  ports: %s
                """.formatted(addresses, resolution, ports) + more;
    }

    @Test
    void aTcpPortWithoutAddressesIsAcceptedWithIstioctlsIst0134Warning() {
        ConfigValidator.Result r = validate(entry("[]", "DNS",
                "[{number: 5432, name: tcp, protocol: TCP}, {number: 27017, name: mongo}, {number: 443, name: tls, protocol: TLS}]",
                ""));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(
                "spec.ports[0]: ServiceEntry addresses are required for this protocol (IST0134): without them, sidecars"
                        + " send every connection to port 5432 to this entry, whatever its destination",
                "spec.ports[1]: ServiceEntry addresses are required for this protocol (IST0134): without them, sidecars"
                        + " send every connection to port 27017 to this entry, whatever its destination"),
                r.warnings(), "a TLS port is told by SNI and gets no warning");
    }

    @Test
    void noIst0134WarningWithAddressesOrForANoneEntryToldByItsEndpoints() {
        assertEquals(List.of(), validate(entry("[198.51.100.7]", "DNS", "[{number: 5432, name: tcp, protocol: TCP}]", ""))
                .warnings());
        assertEquals(List.of(), validate(entry("[]", "NONE", "[{number: 5432, name: tcp, protocol: TCP}]", """
                  endpoints: [{address: 198.51.100.8}]
                """)).warnings());
    }

    @Test
    void aTargetPortOutsideThePortRangeIsRejected() {
        ConfigValidator.Result r = validate(entry("[198.51.100.7]", "NONE",
                "[{number: 80, name: http, protocol: HTTP, targetPort: 70000}]", ""));
        assertFalse(r.valid());
        assertTrue(r.reason().contains("spec.ports[0].targetPort: must be between 1 and 65535"), r.reason());
    }
}
