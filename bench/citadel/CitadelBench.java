import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.CsrBuilder;
import io.mesh.proto.ca.IstioCertificateRequest;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load generator of bench/citadel.sh: N concurrent gRPC clients, each with its own TLS connection, issuing
 * ECDSA P-256 certificates from citadel with a bootstrap token, back to back.
 *
 * Keys and CSRs are made before the clock starts (client key generation is not timed); the pool is reused
 * round-robin, and the CA still parses, verifies and signs every request in full.
 *
 * Usage: java -cp <citadel classpath> CitadelBench.java PORT ROOT_PEM TOKEN CLIENTS WARMUP_S SECONDS [CITADEL_PID]
 * Prints one line: requests=<n> errors=<n> seconds=<s> issuance_per_s=<n> p50_ms=<n> p99_ms=<n> citadel_cpu_s=<s>
 * client_cpu_s=<s>. citadel_cpu_s is the CPU time (user + system) citadel used during the measured window, from
 * /proc; client_cpu_s the same for this load generator, which shares the machine's cores with citadel.
 */
public class CitadelBench {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Path rootPem = Path.of(args[1]);
        String token = args[2];
        int clients = Integer.parseInt(args[3]);
        int warmupSeconds = Integer.parseInt(args[4]);
        int seconds = Integer.parseInt(args[5]);

        List<X509Certificate> roots = new ArrayList<>();
        for (var c : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(rootPem)))) {
            roots.add((X509Certificate) c);
        }
        // Untimed: every key and CSR the run will send.
        List<IstioCertificateRequest> requests = new ArrayList<>();
        for (int i = 0; i < 512; i++) {
            requests.add(IstioCertificateRequest.newBuilder()
                    .setCsr(CsrBuilder.csr(CsrBuilder.newKeyPair(), Optional.empty())).setValidityDuration(86400).build());
        }
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);

        List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port)
                    .sslContext(GrpcSslContexts.forClient().trustManager(new BundleTrustManager(() -> roots)).build())
                    .build());
        }

        long citadelPid = args.length > 6 ? Long.parseLong(args[6]) : -1;
        long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
        long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
        AtomicLong errors = new AtomicLong();
        long[][] latencies = new long[clients][];
        int[] counts = new int[clients];
        CountDownLatch done = new CountDownLatch(clients);
        for (int c = 0; c < clients; c++) {
            final int id = c;
            Thread t = new Thread(() -> {
                var stub = IstioCertificateServiceGrpc.newBlockingStub(channels.get(id))
                        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
                long[] mine = new long[1 << 16];
                int n = 0;
                int next = id * 37;
                try {
                    while (true) {
                        long start = System.nanoTime();
                        if (start >= end) {
                            break;
                        }
                        try {
                            var response = stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                                    .createCertificate(requests.get(next++ % requests.size()));
                            if (response.getCertChainCount() < 2) {
                                errors.incrementAndGet();
                            }
                        } catch (RuntimeException e) {
                            errors.incrementAndGet();
                            continue;
                        }
                        long stop = System.nanoTime();
                        if (start >= warmupEnd && stop <= end) {
                            if (n == mine.length) {
                                mine = Arrays.copyOf(mine, n * 2);
                            }
                            mine[n++] = stop - start;
                        }
                    }
                } finally {
                    latencies[id] = mine;
                    counts[id] = n;
                    done.countDown();
                }
            }, "bench-client-" + c);
            t.start();
        }
        // The CPU citadel spends in the measured window, so the result can be read per CPU-second too.
        TimeUnit.NANOSECONDS.sleep(warmupEnd - System.nanoTime());
        long cpuStart = cpuTicks(citadelPid);
        long ownStart = cpuTicks(ProcessHandle.current().pid());
        TimeUnit.NANOSECONDS.sleep(end - System.nanoTime());
        long cpuEnd = cpuTicks(citadelPid);
        long ownEnd = cpuTicks(ProcessHandle.current().pid());
        done.await();
        channels.forEach(ManagedChannel::shutdownNow);

        long total = Arrays.stream(counts).sum();
        long[] all = new long[(int) total];
        int at = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(latencies[c], 0, all, at, counts[c]);
            at += counts[c];
        }
        Arrays.sort(all);
        double p50 = all.length == 0 ? 0 : all[(int) (all.length * 0.50)] / 1e6;
        double p99 = all.length == 0 ? 0 : all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1e6;
        System.out.printf("requests=%d errors=%d seconds=%d issuance_per_s=%.0f p50_ms=%.2f p99_ms=%.2f citadel_cpu_s=%.2f"
                + " client_cpu_s=%.2f%n", total, errors.get(), seconds, total / (double) seconds, p50, p99,
                (cpuEnd - cpuStart) / 100.0, (ownEnd - ownStart) / 100.0);
    }

    /** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux); 0 without a pid. */
    static long cpuTicks(long pid) throws java.io.IOException {
        if (pid <= 0) {
            return 0;
        }
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
