package io.mesh.gateway.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CaptureRulesTest {

    private static List<String> rendered(List<List<String>> rules) {
        return rules.stream().map(r -> String.join(" ", r)).toList();
    }

    @Test
    void defaultsCaptureAllTcpButNeverTheProxysOwnUidOrPorts() {
        List<String> rules = rendered(CaptureRules.install(CaptureOptions.defaults()));
        assertTrue(rules.contains("-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001"), rules.toString());
        assertTrue(rules.contains("-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006"), rules.toString());
        assertTrue(rules.contains("-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN"), rules.toString());
        for (int port : List.of(15020, 15021, 15090)) {
            assertTrue(rules.contains("-A ISTIO_INBOUND -p tcp --dport " + port + " -j RETURN"), rules.toString());
        }
        // The RETURNs come before the catch-all redirects, or they would never match.
        assertTrue(rules.indexOf("-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN") < rules.indexOf("-A ISTIO_OUTPUT -j ISTIO_REDIRECT"));
        assertEquals(List.of("-A PREROUTING -p tcp -j ISTIO_INBOUND", "-A OUTPUT -p tcp -j ISTIO_OUTPUT"),
                rules.subList(rules.size() - 2, rules.size()), "the jumps come last, once the chains are complete");
    }

    @Test
    void includeListsNarrowWhatIsCaptured() {
        CaptureOptions options = CaptureOptions.parse(List.of("-i", "10.96.0.0/12,192.168.1.7", "-b", "8080,9090", "-o", "5432"));
        List<String> rules = rendered(CaptureRules.install(options));
        assertTrue(rules.contains("-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT"), rules.toString());
        assertTrue(rules.contains("-A ISTIO_OUTPUT -d 192.168.1.7/32 -j ISTIO_REDIRECT"), rules.toString());
        assertFalse(rules.contains("-A ISTIO_OUTPUT -j ISTIO_REDIRECT"), rules.toString());
        assertTrue(rules.contains("-A ISTIO_INBOUND -p tcp --dport 8080 -j ISTIO_IN_REDIRECT"), rules.toString());
        assertFalse(rules.contains("-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT"), rules.toString());
        assertTrue(rules.contains("-A ISTIO_OUTPUT -p tcp --dport 5432 -j RETURN"), rules.toString());
    }

    @Test
    void theInjectorsInitContainerCommandLineParses() {
        // injector/README.md: every flag always present, in --name=value form, an empty value meaning none.
        CaptureOptions options = CaptureOptions.parse(List.of("--proxy-uid=1337", "--proxy-gid=1337",
                "--outbound-capture-port=15001", "--inbound-capture-port=15006", "--include-outbound-ip-ranges=*",
                "--exclude-outbound-ip-ranges=", "--include-inbound-ports=*", "--exclude-inbound-ports=15090,15021,15020,8081",
                "--exclude-outbound-ports="));
        assertEquals(15001, options.proxyPort());
        assertEquals(15006, options.inboundPort());
        assertEquals(List.of(CaptureOptions.ALL), options.includeOutboundCidrs());
        assertEquals(List.of(), options.excludeOutboundCidrs());
        assertEquals(List.of(15020, 15021, 15090, 8081), options.excludeInboundPorts());
        assertEquals(List.of(), options.excludeOutboundPorts());
    }

    @Test
    void anEmptyInboundListCapturesNoInboundTraffic() {
        List<String> rules = rendered(CaptureRules.install(CaptureOptions.parse(List.of("-b", ""))));
        assertFalse(rules.contains("-A PREROUTING -p tcp -j ISTIO_INBOUND"), rules.toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-p,0|-p: '0' is not a port",
        "-u,root|-u: 'root' is not a numeric user or group id",
        "-x,fd00::/8|is not an IPv4 address or CIDR",
        "-m,TPROXY|only REDIRECT interception is supported",
        "--bogus,1|unknown flag --bogus",
        "-p,15006|must differ"})
    void badFlagsAreRefusedNamingTheFlag(String args, String message) {
        List<String> argv = new ArrayList<>(List.of(args.split(",")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CaptureOptions.parse(argv));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void aFailedInstallIsRolledBack() {
        List<String> calls = new ArrayList<>();
        IptablesCapture capture = new IptablesCapture(args -> {
            calls.add(String.join(" ", args));
            boolean fail = args.contains("REDIRECT") && args.contains("15006");
            return new IptablesCapture.Result(args, fail ? 1 : 0, fail ? "iptables: No chain/target/match by that name." : "");
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> capture.install(CaptureOptions.defaults()));
        assertTrue(e.getMessage().contains("rolled back"), e.getMessage());
        assertEquals("-X ISTIO_REDIRECT", calls.get(calls.size() - 1), "the last calls remove the chains again");
    }
}
