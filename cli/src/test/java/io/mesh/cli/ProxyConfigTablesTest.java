package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Golden tables and JSON of meshctl proxy-config. The gateway's config dump and admin /clusters were captured from
 * the local demo (./mesh up, demo ports put back to 9081/9082); the sidecar's is written in the same JSON mapping
 * to cover what the demo has none of: subsets, header and regex matches, redirects, inbound chains, Istio metadata.
 */
class ProxyConfigTablesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode read(String file) throws Exception {
        return JSON.readTree(Files.readString(Path.of("src/test/resources", file)));
    }

    private static String table(ProxyConfig.Kind kind, String dump, String live) throws Exception {
        StringWriter out = new StringWriter();
        ProxyConfig.table(kind, read(dump), live == null ? null : read(live), new PrintWriter(out, true));
        return out.toString();
    }

    private static String json(ProxyConfig.Kind kind, String dump, String live) throws Exception {
        StringWriter out = new StringWriter();
        Printer.print(ProxyConfig.document(kind, read(dump), live == null ? null : read(live)), OutputFormat.json,
                new PrintWriter(out, true), table -> { });
        return out.toString();
    }

    private static final String GATEWAY = "captured/pilot-config_dump-gateway.json";
    private static final String GATEWAY_ADMIN = "captured/gateway-admin-clusters.json";
    private static final String SIDECAR = "sidecar-config_dump.json";

    @Test
    void gatewayRoutesShowTheDemosWeightedSplit() throws Exception {
        assertEquals("""
                NAME     VHOST NAME           DOMAINS  MATCH  VIRTUAL SERVICE   DESTINATION
                http.80  demo/web-ingress:80  *        /*     web-ingress.demo  backend.demo.svc.cluster.local:80 50%, web.demo.svc.cluster.local:80 50%
                """, table(ProxyConfig.Kind.routes, GATEWAY, null));
    }

    @Test
    void gatewayClustersListenersAndEndpoints() throws Exception {
        assertEquals("""
                SERVICE FQDN                    PORT  SUBSET  DIRECTION  TYPE  DESTINATION RULE
                backend.demo.svc.cluster.local  80    -       outbound   EDS   -
                web.demo.svc.cluster.local      80    -       outbound   EDS   -
                """, table(ProxyConfig.Kind.clusters, GATEWAY, null));
        assertEquals("""
                ADDRESS  PORT  MATCH  DESTINATION
                0.0.0.0  80    ALL    Route: http.80
                """, table(ProxyConfig.Kind.listeners, GATEWAY, null));
        assertEquals("""
                ENDPOINT        STATUS   OUTLIER CHECK  CLUSTER
                127.0.0.1:9082  HEALTHY  OK             outbound|80||backend.demo.svc.cluster.local
                127.0.0.1:9081  HEALTHY  OK             outbound|80||web.demo.svc.cluster.local
                """, table(ProxyConfig.Kind.endpoints, GATEWAY, GATEWAY_ADMIN));
    }

    @Test
    void anEjectedEndpointFailsItsOutlierCheck() throws Exception {
        JsonNode live = read(GATEWAY_ADMIN).deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) live.path("outbound|80||web.demo.svc.cluster.local").path("endpoints").get(0))
                .put("ejected", true);
        assertEquals(java.util.List.of(
                new ProxyConfig.EndpointRow("127.0.0.1:9082", "HEALTHY", "OK", "outbound|80||backend.demo.svc.cluster.local"),
                new ProxyConfig.EndpointRow("127.0.0.1:9081", "HEALTHY", "FAILED", "outbound|80||web.demo.svc.cluster.local")),
                ProxyConfig.endpoints(read(GATEWAY), live));
    }

    @Test
    void jsonIsTheRawResourcesForRoutesAndTheRowsForEndpoints() throws Exception {
        assertEquals("""
                [ {
                  "name" : "http.80",
                  "virtualHosts" : [ {
                    "name" : "demo/web-ingress:80",
                    "domains" : [ "*" ],
                    "routes" : [ {
                      "match" : {
                        "prefix" : "/"
                      },
                      "route" : {
                        "weightedClusters" : {
                          "clusters" : [ {
                            "name" : "outbound|80||backend.demo.svc.cluster.local",
                            "weight" : 50
                          }, {
                            "name" : "outbound|80||web.demo.svc.cluster.local",
                            "weight" : 50
                          } ]
                        }
                      },
                      "name" : "demo/web-ingress"
                    } ]
                  } ]
                } ]
                """, json(ProxyConfig.Kind.routes, GATEWAY, null));
        assertEquals("""
                [ {
                  "endpoint" : "127.0.0.1:9082",
                  "status" : "HEALTHY",
                  "outlierCheck" : "OK",
                  "cluster" : "outbound|80||backend.demo.svc.cluster.local"
                }, {
                  "endpoint" : "127.0.0.1:9081",
                  "status" : "HEALTHY",
                  "outlierCheck" : "OK",
                  "cluster" : "outbound|80||web.demo.svc.cluster.local"
                } ]
                """, json(ProxyConfig.Kind.endpoints, GATEWAY, GATEWAY_ADMIN));
    }

    /** --source proxy: the gateway admin's /config_dump (what it accepted), captured from the same demo, reads the same. */
    @Test
    void whatTheGatewayAcceptedReadsLikeWhatPilotServes() throws Exception {
        JsonNode pilot = read(GATEWAY);
        JsonNode accepted = ProxyConfig.fromAdmin(read("captured/gateway-admin-config_dump.json"), pilot.path("proxyID").asText(), "ROUTER");
        JsonNode live = read(GATEWAY_ADMIN);
        for (ProxyConfig.Kind kind : ProxyConfig.Kind.values()) {
            StringWriter fromPilot = new StringWriter();
            StringWriter fromProxy = new StringWriter();
            ProxyConfig.table(kind, pilot, live, new PrintWriter(fromPilot, true));
            ProxyConfig.table(kind, accepted, live, new PrintWriter(fromProxy, true));
            assertEquals(fromPilot.toString(), fromProxy.toString(), kind.name());
        }
        assertEquals(pilot.path("routes"), accepted.path("routes"));
        // An admin dump without a type the proxy never received yields no rows, not an error.
        assertEquals(0, ProxyConfig.fromAdmin(JSON.readTree("{\"dynamic_resources\":{}}"), "x", "ROUTER").path("routes").size());
    }

    @Test
    void sidecarRoutesShowMatchesSubsetsRedirectsAndTheirVirtualService() throws Exception {
        assertEquals("""
                NAME  VHOST NAME                              DOMAINS                                                      MATCH            VIRTUAL SERVICE  DESTINATION
                9080  reviews.default.svc.cluster.local:9080  reviews.default.svc.cluster.local, reviews, reviews.default  /* +1 condition  reviews.default  reviews.default.svc.cluster.local:9080|v2
                9080  reviews.default.svc.cluster.local:9080  reviews.default.svc.cluster.local, reviews, reviews.default  /api/v[0-9]+/.*  reviews.default  reviews.default.svc.cluster.local:9080|v1 75%, reviews.default.svc.cluster.local:9080|v3 25%
                9080  reviews.default.svc.cluster.local:9080  reviews.default.svc.cluster.local, reviews, reviews.default  /old             reviews.default  redirect /new
                9080  reviews.default.svc.cluster.local:9080  reviews.default.svc.cluster.local, reviews, reviews.default  /down*           reviews.default  direct response 503
                9080  ratings.default.svc.cluster.local:9080  ratings.default.svc.cluster.local                            /*               -                ratings.default.svc.cluster.local:9080
                """, table(ProxyConfig.Kind.routes, SIDECAR, null));
    }

    @Test
    void sidecarClustersListenersAndEndpoints() throws Exception {
        // An inbound cluster has no service FQDN, as in istioctl; no "type" in protobuf's JSON is STATIC.
        assertEquals("""
                SERVICE FQDN                       PORT  SUBSET  DIRECTION  TYPE          DESTINATION RULE
                                                   9080  -       inbound    STATIC        -
                PassthroughCluster                 -     -       -          ORIGINAL_DST  -
                ratings.default.svc.cluster.local  9080  -       outbound   EDS           -
                reviews.default.svc.cluster.local  9080  -       outbound   EDS           -
                reviews.default.svc.cluster.local  9080  v2      outbound   EDS           reviews.default
                """, table(ProxyConfig.Kind.clusters, SIDECAR, null));
        assertEquals("""
                ADDRESS         PORT   MATCH                                                                            DESTINATION
                0.0.0.0         9080   ALL                                                                              Route: 9080
                198.51.100.100  9000   ALL                                                                              Clusters: outbound|9000|v1|db.default.svc.cluster.local 80%, outbound|9000|v2|db.default.svc.cluster.local 20%
                0.0.0.0         15001  ALL                                                                              Cluster: PassthroughCluster
                0.0.0.0         15006  Port: 9080; Trans: tls; App: istio-peer-exchange,istio                           Inline Route: inbound|9080||
                0.0.0.0         15006  SNI: outbound_.9080_._.productpage.default.svc.cluster.local; Addr: 10.1.2.3/32  Cluster: inbound|9080||
                """, table(ProxyConfig.Kind.listeners, SIDECAR, null));
        // Without the proxy's own view there is no outlier check to show.
        assertEquals("""
                ENDPOINT       STATUS     OUTLIER CHECK  CLUSTER
                10.1.5.2:9080  HEALTHY    -              outbound|9080||ratings.default.svc.cluster.local
                10.1.4.7:9080  HEALTHY    -              outbound|9080||reviews.default.svc.cluster.local
                10.1.4.8:9080  UNHEALTHY  -              outbound|9080||reviews.default.svc.cluster.local
                """, table(ProxyConfig.Kind.endpoints, SIDECAR, null));
    }
}
