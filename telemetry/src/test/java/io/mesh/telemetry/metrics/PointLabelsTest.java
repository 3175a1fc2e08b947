package io.mesh.telemetry.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.OtlpFixtures;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The label sets of Istio's series under a Telemetry's metric overrides, through the ingest and the table. */
class PointLabelsTest {

    private static final AggregationTemporality DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA;

    private final SeriesTable table = new SeriesTable(100, m -> { });
    private final List<List<String>> observed = new ArrayList<>();
    private final IstioMetricsIngest ingest = new IstioMetricsIngest(table, new CumulativeStreams(100),
            new TrafficObserver() {
                @Override
                public void requests(List<String> labels, double count) {
                    observed.add(labels);
                }

                @Override
                public void durations(List<String> labels, long[] counts) {
                }
            }, new PointLabels(2, 10));

    /** Every standard HTTP label, as the gateway's OtlpReporter sends them without overrides. */
    private static Map<String, String> proxyLabels() {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String name : Labels.HTTP) {
            labels.put(name, "unknown");
        }
        labels.put("reporter", "destination");
        labels.put("source_workload", "web");
        labels.put("destination_service", "orders.default.svc.cluster.local");
        labels.put("response_code", "200");
        labels.put("grpc_response_status", "");
        return labels;
    }

    private SeriesTable.SeriesKey onlySeries() {
        assertEquals(1, table.size(), table.view().toString());
        return table.view().keySet().iterator().next();
    }

    @Test
    void aSenderWithoutOverridesKeepsTheFamilysStandardLabelNames() {
        ingest.ingest(OtlpFixtures.metricsFromScope("io.mesh.gateway", Map.of(),
                OtlpFixtures.requests(proxyLabels(), 1, DELTA)));
        SeriesTable.SeriesKey key = onlySeries();
        assertSame(Labels.HTTP, key.names());
        assertEquals(Labels.UNKNOWN, key.values().get(Labels.HTTP.indexOf("grpc_response_status")));
    }

    @Test
    void anExtraAttributeIsALabelAfterTheStandardOnesInNameOrder() {
        Map<String, String> labels = proxyLabels();
        labels.put("team", "payments");
        labels.put("cost", "42");
        IstioMetricsIngest.Outcome outcome = ingest.ingest(OtlpFixtures.metricsFromScope("io.mesh.gateway", Map.of(),
                OtlpFixtures.requests(labels, 1, DELTA)));
        assertEquals(1, outcome.accepted());
        SeriesTable.SeriesKey key = onlySeries();
        List<String> names = new ArrayList<>(Labels.HTTP);
        names.add("cost");
        names.add("team");
        assertEquals(names, key.names());
        assertEquals(List.of("42", "payments"), key.values().subList(Labels.HTTP.size(), names.size()));
        assertEquals(Labels.HTTP.size(), observed.get(0).size(), "the graph still reads the standard labels");
    }

    @Test
    void aLabelTheProxyLeftOutIsNotServedButAnotherSendersReadsUnknown() {
        Map<String, String> removed = proxyLabels();
        removed.remove("destination_principal");
        ingest.ingest(OtlpFixtures.metricsFromScope("io.mesh.gateway", Map.of(), OtlpFixtures.requests(removed, 1,
                DELTA)));
        SeriesTable.SeriesKey key = onlySeries();
        assertFalse(key.names().contains("destination_principal"));
        assertEquals(Labels.HTTP.size() - 1, key.values().size());
        assertEquals(Labels.UNKNOWN, observed.get(0).get(Labels.HTTP.indexOf("destination_principal")));
        assertEquals("web", observed.get(0).get(Labels.HTTP.indexOf("source_workload")));

        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.requests(removed, 1, DELTA)));
        assertEquals(2, table.size());
        assertTrue(table.view().keySet().stream().anyMatch(k -> k.names() == Labels.HTTP
                && k.values().get(Labels.HTTP.indexOf("destination_principal")).equals(Labels.UNKNOWN)));
    }

    @Test
    void invalidReservedAndOtherFamiliesStandardNamesAndEmptyValuesAreNotLabels() {
        Map<String, String> labels = new HashMap<>(Map.of("destination_service", "a", "http.method", "GET",
                "__name__", "x", "le", "1", "9lives", "y", "team", ""));
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.requests(labels, 1, DELTA)));
        assertSame(Labels.HTTP, onlySeries().names());
        table.view().clear();
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.sum("istio.tcp.connections_opened", "{connection}",
                Map.of("destination_service", "db", "response_code", "200"), 1, DELTA)));
        assertSame(Labels.TCP, table.view().keySet().iterator().next().names());
    }

    @Test
    void extraLabelNamesPastTheFamilysCapAndLongValuesAreRefusedAndCounted() {
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.requests(Map.of("a", "1", "b", "2"), 1, DELTA)));
        IstioMetricsIngest.Outcome third = ingest.ingest(OtlpFixtures.metrics(Map.of(),
                OtlpFixtures.requests(Map.of("c", "3"), 1, DELTA)));
        assertEquals(0, third.accepted());
        assertEquals(1, third.refused());
        assertTrue(third.rejectionReason().contains("more than 2 label names"), third.rejectionReason());
        // Admitted names keep working, alone or together; another family has its own names.
        assertEquals(1, ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.requests(Map.of("b", "9"), 1, DELTA)))
                .accepted());
        assertEquals(1, ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.sum("istio.tcp.sent_bytes", "By",
                Map.of("c", "3"), 1, DELTA))).accepted());
        IstioMetricsIngest.Outcome tooLong = ingest.ingest(OtlpFixtures.metrics(Map.of(),
                OtlpFixtures.requests(Map.of("a", "x".repeat(11)), 1, DELTA)));
        assertEquals(1, tooLong.refused());
        assertEquals(1, ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.sum("istio.tcp.received_bytes", "By",
                Map.of("n".repeat(11), "1"), 1, DELTA))).refused(), "a name is bounded like a value");
        assertEquals(3, table.size());
    }
}
