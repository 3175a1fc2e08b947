package io.mesh.citadel.server;

import io.mesh.citadel.ca.CertificateIssuer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The CA's metrics, with Istio's names so Istio's dashboards and alerts work unchanged. Counters (Prometheus
 * adds {@code _total} to the samples) and one gauge; no timers, per the mesh's metric conventions.
 */
public final class CaMetrics {

    final Counter csrs;
    final Counter issued;
    final Counter csrParsingErrors;
    final Counter authenticationFailures;

    public CaMetrics(MeterRegistry registry, CertificateIssuer issuer) {
        csrs = Counter.builder("citadel_server_csr_count")
                .description("The number of CSRs received by the CA").register(registry);
        issued = Counter.builder("citadel_server_success_cert_issuance_count")
                .description("The number of certificates issued successfully").register(registry);
        csrParsingErrors = Counter.builder("citadel_server_csr_parsing_err_count")
                .description("The number of CSRs refused because they were malformed, badly signed or had a weak key")
                .register(registry);
        authenticationFailures = Counter.builder("citadel_server_authentication_failure_count")
                .description("The number of requests whose caller proved no identity").register(registry);
        Gauge.builder("citadel_server_root_cert_expiry_timestamp", issuer,
                        i -> i.material().root().getNotAfter().getTime() / 1000.0)
                .description("The unix time, in seconds, when the CA's root certificate expires").register(registry);
    }
}
