package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The parts of a local reply to a gRPC request (ProtocolsTest sends one through the gateway). */
class GrpcLocalReplyTest {

    @Test
    void httpCodesMapToGrpcStatusesAsEnvoyMapsThem() {
        assertEquals(List.of(13, 16, 7, 12, 14, 14, 14, 14, 2, 2),
                IntStream.of(400, 401, 403, 404, 429, 502, 503, 504, 500, 200).map(ProxyExchange::grpcStatusOf).boxed().toList());
    }

    @Test
    void grpcMessagesArePercentEncodedOutsidePrintableAscii() {
        assertEquals("RBAC: access denied", ProxyExchange.percentEncode("RBAC: access denied"));
        assertEquals("50%25 caf%C3%A9%0Aok", ProxyExchange.percentEncode("50% caf\u00e9\nok"));
    }

    @Test
    void grpcRequestsAreApplicationGrpcWithASuffixOrParametersButNotGrpcWeb() {
        assertTrue(ProxyExchange.isGrpc("application/grpc"));
        assertTrue(ProxyExchange.isGrpc("application/grpc+proto"));
        assertTrue(ProxyExchange.isGrpc("application/grpc; charset=utf-8"));
        assertFalse(ProxyExchange.isGrpc("application/grpc-web"));
        assertFalse(ProxyExchange.isGrpc("application/json"));
        assertFalse(ProxyExchange.isGrpc(null));
    }
}
