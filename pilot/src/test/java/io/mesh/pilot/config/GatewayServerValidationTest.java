package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.config.ConfigValidator;
import io.mesh.config.Gateway;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Gateway server's {@code bind} and {@code defaultEndpoint}, validated as Istio does (pkg/config/validation:
 * validateServerBind): a bind is an IP address, or a Unix domain socket whose port number is 0, which this gateway
 * cannot listen on (the server is left out, with a warning); defaultEndpoint is NOT IMPLEMENTED in Istio's API, so it
 * is accepted with a warning that it has no effect.
 */
class GatewayServerValidationTest {

    static ConfigValidator.Result validate(String server) {
        RawResource raw = YamlDocuments.parse("""
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                """ + server.indent(2), "t.yaml").resources().get(0);
        return ConfigValidator.validate(raw);
    }

    @Test
    void anIpBindIsKeptOnTheServer() {
        ConfigValidator.Result r = validate("""
                - port: {number: 8080, name: http, protocol: HTTP}
                  bind: 127.0.0.2
                  hosts: ["*"]
                - port: {number: 8080, name: http6, protocol: HTTP}
                  bind: "fd00::1"
                  hosts: ["*"]
                - port: {number: 8080, name: http-any, protocol: HTTP}
                  hosts: ["*"]
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings());
        assertEquals(List.of("127.0.0.2", "fd00::1", ""),
                ((Gateway) r.model()).servers().stream().map(Gateway.Server::bind).toList());
    }

    @Test
    void defaultEndpointIsAcceptedWithAWarningThatItHasNoEffect() {
        ConfigValidator.Result r = validate("""
                - port: {number: 8080, name: http, protocol: HTTP}
                  hosts: ["*"]
                  defaultEndpoint: 127.0.0.1:9080
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("spec.servers[0].defaultEndpoint: has no effect: istiod does not implement it for gateways"
                + " (the API marks it NOT IMPLEMENTED); traffic goes where the VirtualServices bound to the server route"
                + " it"), r.warnings());
    }

    @Test
    void aUnixSocketBindWithPortZeroIsValidAndTheServerIsLeftOutWithAWarning() {
        ConfigValidator.Result r = validate("""
                - port: {number: 0, name: uds, protocol: HTTP}
                  bind: unix:///var/run/gateway.sock
                  hosts: ["*"]
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("spec.servers[0]: a Unix domain socket bind (unix:///var/run/gateway.sock) is not served (the"
                + " gateway listens on TCP only): this gateway leaves the server out (no listener for it)"), r.warnings());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("bind: not-an-ip", "spec.servers[0].bind: \"not-an-ip\" is not a valid IP address (or unix://"
                        + " socket)"),
                Arguments.of("bind: 10.0.0.256", "spec.servers[0].bind: \"10.0.0.256\" is not a valid IP address (or"
                        + " unix:// socket)"),
                Arguments.of("bind: example.com", "spec.servers[0].bind: \"example.com\" is not a valid IP address (or"
                        + " unix:// socket)"),
                Arguments.of("bind: unix:///var/run/gateway.sock",
                        "spec.servers[0].bind: port number must be 0 for unix domain socket: unix:///var/run/gateway.sock"),
                Arguments.of("bind: 'unix://'\n  port: {number: 0, name: uds, protocol: HTTP}",
                        "spec.servers[0].bind: unix domain socket path cannot be empty"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anInvalidBindIsRejectedNamingIt(String bind, String error) {
        String port = bind.contains("port:") ? "" : "  port: {number: 8080, name: http, protocol: HTTP}\n";
        ConfigValidator.Result r = validate("- hosts: [\"*\"]\n" + port + "  " + bind + "\n");
        assertEquals(List.of(error), r.errors());
    }
}
