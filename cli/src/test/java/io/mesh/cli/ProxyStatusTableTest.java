package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** Golden table of meshctl proxy-status, from a /debug/syncz document as pilot serves it. */
class ProxyStatusTableTest {

    @Test
    void tableShowsEachProxysStatePerXdsType() throws Exception {
        String syncz = """
                [{"proxy":"router~127.0.0.1~gw.istio-system~istio-system.svc.cluster.local","type":"ROUTER",
                  "namespace":"istio-system","stream":0,"protocol":"sotw",
                  "xds":{"cds":{"status":"SYNCED"},"lds":{"status":"SYNCED"},"eds":{"status":"STALE"},"rds":{"status":"NACKED"}}},
                 {"proxy":"grpc-client","type":"GRPC","protocol":"delta","xds":{"lds":{"status":"SYNCED"}}}]
                """;
        StringWriter out = new StringWriter();
        ProxyStatusCommand.table(new ObjectMapper().readTree(syncz), new PrintWriter(out, true));
        assertEquals("""
                NAME                                                             TYPE     CDS       LDS       EDS       RDS       SDS       PROTOCOL
                router~127.0.0.1~gw.istio-system~istio-system.svc.cluster.local  ROUTER   SYNCED    SYNCED    STALE     NACKED    -         sotw
                grpc-client                                                      GRPC     -         SYNCED    -         -         -         delta
                """, out.toString());
    }
}
