import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A constant-rate HTTP/1.1 load generator in the spirit of wrk2: CONNECTIONS keep-alive connections, each
 * sending its share of RATE requests per second on a fixed schedule, one request in flight per connection.
 * Latency is measured from when a request was due, not when it was sent, so a stall counts in full
 * (no coordinated omission). Run with the JDK alone:
 *
 *   java RateLoad.java HOST:PORT AUTHORITY RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]
 *   java RateLoad.java --interleave SLICE_SECONDS ROUNDS RATE CONNECTIONS WARMUP_SECONDS NAME=HOST:PORT@AUTHORITY...
 *
 * The first form loads one target and prints one line:
 *   requests=<n> errors=<n> rate=<achieved/s> p50_ms=<> p90_ms=<> p99_ms=<> max_ms=<> over_0.5ms_pct=<> over_1ms_pct=<>
 * The second loads its targets in turn, SLICE_SECONDS each, for ROUNDS rounds (after WARMUP_SECONDS on each, not
 * measured), keeping each target's connections open across slices, and prints that line per target prefixed with
 * its NAME. Interleaving spreads whatever else the machine does over every target alike, so their difference is
 * what the targets themselves add.
 *
 * <p>For looking into the tail: with RATELOAD_SLOW_FILE set, every measured request slower than RATELOAD_SLOW_MS
 * (default 0.5) is appended there as {@code <target> <UTC time it was due, ms> <latency ms>}, to line up with the
 * proxies' GC and safepoint logs ({@code -Xlog:...:utctime}) or a scheduler trace.
 */
public final class RateLoad {

    private static final String SLOW_FILE = System.getenv("RATELOAD_SLOW_FILE");
    private static final long SLOW_NANOS = (long) (Double.parseDouble(
            System.getenv().getOrDefault("RATELOAD_SLOW_MS", "0.5")) * 1e6);

    public static void main(String[] args) throws Exception {
        if (args.length >= 7 && args[0].equals("--interleave")) {
            interleave(args);
            return;
        }
        if (args.length < 4) {
            System.err.println("usage: java RateLoad.java HOST:PORT AUTHORITY RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]\n"
                    + "       java RateLoad.java --interleave SLICE_SECONDS ROUNDS RATE CONNECTIONS WARMUP_SECONDS NAME=HOST:PORT@AUTHORITY...");
            System.exit(2);
        }
        Target t = new Target("", args[0], args[1], args.length > 4 ? Integer.parseInt(args[4]) : 10);
        double rate = Double.parseDouble(args[2]);
        int seconds = Integer.parseInt(args[3]);
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : 5;
        t.slice(rate, warmup, false);
        t.slice(rate, seconds, true);
        t.close();
        System.out.println(t.summary(seconds));
    }

    private static void interleave(String[] args) throws Exception {
        double slice = Double.parseDouble(args[1]);
        int rounds = Integer.parseInt(args[2]);
        double rate = Double.parseDouble(args[3]);
        int connections = Integer.parseInt(args[4]);
        double warmup = Double.parseDouble(args[5]);
        List<Target> targets = new ArrayList<>();
        for (int i = 6; i < args.length; i++) {
            String[] nameRest = args[i].split("=", 2);
            String[] hostAuthority = nameRest[1].split("@", 2);
            targets.add(new Target(nameRest[0], hostAuthority[0], hostAuthority[1], connections));
        }
        for (Target t : targets) {
            t.slice(rate, warmup, false);
        }
        for (int r = 0; r < rounds; r++) {
            for (Target t : targets) {
                t.slice(rate, slice, true);
            }
        }
        for (Target t : targets) {
            t.close();
            System.out.println(t.name + " " + t.summary(slice * rounds));
        }
    }

    /** One target: its connections (kept across slices) and the latencies measured on it. */
    private static final class Target {
        final String name;
        final InetSocketAddress address;
        final byte[] request;
        final Socket[] sockets;
        final InputStream[] ins;
        final AtomicLong errors = new AtomicLong();
        long[] samples = new long[1024];
        int count;
        final List<String> slow = Collections.synchronizedList(new ArrayList<>());

        Target(String name, String hostPort, String authority, int connections) {
            this.name = name;
            String[] hp = hostPort.split(":");
            this.address = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
            this.request = ("GET / HTTP/1.1\r\nHost: " + authority + "\r\nUser-Agent: rateload\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            this.sockets = new Socket[connections];
            this.ins = new InputStream[connections];
        }

        /** Sends at {@code rate} for {@code seconds}; keeps the latencies when {@code measure}. */
        void slice(double rate, double seconds, boolean measure) throws InterruptedException {
            int connections = sockets.length;
            long intervalNanos = (long) (1e9 * connections / rate);
            long start = System.nanoTime() + 20_000_000L;
            long end = start + (long) (seconds * 1e9);
            long[][] perThread = new long[connections][(int) (rate * seconds / connections) + 16];
            int[] counts = new int[connections];
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                int index = c;
                long offset = intervalNanos * c / connections;   // spread the connections' schedules evenly
                Thread t = new Thread(() -> {
                    long[] mine = perThread[index];
                    int n = 0;
                    for (long due = start + offset; due < end; due += intervalNanos) {
                        long wait;
                        while ((wait = due - System.nanoTime()) > 0) {
                            LockSupport.parkNanos(wait);
                        }
                        try {
                            if (sockets[index] == null) {
                                Socket socket = new Socket();
                                socket.setTcpNoDelay(true);
                                socket.connect(address, 5000);
                                socket.setSoTimeout(10_000);
                                sockets[index] = socket;
                                ins[index] = new BufferedInputStream(socket.getInputStream(), 16384);
                            }
                            OutputStream out = sockets[index].getOutputStream();
                            out.write(request);
                            out.flush();
                            if (readResponse(ins[index]) != 200 && measure) {
                                errors.incrementAndGet();
                            }
                        } catch (IOException e) {
                            if (measure) {
                                errors.incrementAndGet();
                            }
                            closeQuietly(sockets[index]);
                            sockets[index] = null;
                        }
                        long latency = System.nanoTime() - due;
                        if (measure && SLOW_FILE != null && latency > SLOW_NANOS) {
                            long dueMillis = System.currentTimeMillis() - latency / 1_000_000L;
                            slow.add(String.format("%s %s %.3f", name, Instant.ofEpochMilli(dueMillis), latency / 1e6));
                        }
                        if (n < mine.length) {
                            mine[n++] = latency;
                        }
                    }
                    counts[index] = n;
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            if (!measure) {
                return;
            }
            for (int c = 0; c < connections; c++) {
                if (count + counts[c] > samples.length) {
                    samples = Arrays.copyOf(samples, Math.max(samples.length * 2, count + counts[c]));
                }
                System.arraycopy(perThread[c], 0, samples, count, counts[c]);
                count += counts[c];
            }
        }

        String summary(double seconds) {
            long[] all = Arrays.copyOf(samples, count);
            Arrays.sort(all);
            return String.format("requests=%d errors=%d rate=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
                    + " over_0.5ms_pct=%.2f over_1ms_pct=%.2f", all.length,
                    errors.get(), all.length / seconds, pct(all, 0.50), pct(all, 0.90), pct(all, 0.99),
                    all.length == 0 ? 0 : all[all.length - 1] / 1e6, over(all, 500_000), over(all, 1_000_000));
        }

        void close() throws IOException {
            for (Socket s : sockets) {
                closeQuietly(s);
            }
            if (SLOW_FILE != null) {
                Files.write(Path.of(SLOW_FILE), slow, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
        }
    }

    /** The share of requests slower than {@code nanos}, in per cent: the tail a p99 hides. */
    private static double over(long[] sorted, long nanos) {
        int slower = 0;
        for (int i = sorted.length - 1; i >= 0 && sorted[i] > nanos; i--) {
            slower++;
        }
        return sorted.length == 0 ? 0 : 100.0 * slower / sorted.length;
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }

    /** Reads one response (status line, headers, Content-Length or chunked body); returns its status. */
    private static int readResponse(InputStream in) throws IOException {
        String status = line(in);
        if (status == null) {
            throw new IOException("connection closed");
        }
        int code = Integer.parseInt(status.split(" ")[1]);
        long length = -1;
        boolean chunked = false;
        String h;
        while ((h = line(in)) != null && !h.isEmpty()) {
            String lower = h.toLowerCase();
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(lower.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        if (chunked) {
            while (true) {
                long size = Long.parseLong(line(in).split(";")[0].trim(), 16);
                skip(in, size);
                line(in);
                if (size == 0) {
                    break;
                }
            }
        } else if (length > 0) {
            skip(in, length);
        }
        return code;
    }

    private static void skip(InputStream in, long n) throws IOException {
        byte[] buf = new byte[8192];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) {
                throw new IOException("short body");
            }
            n -= r;
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int len = sb.length();
                return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static void closeQuietly(Socket s) {
        try {
            if (s != null) {
                s.close();
            }
        } catch (IOException e) {
            // closing anyway
        }
    }
}
