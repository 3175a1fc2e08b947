import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
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
 *
 * Prints one line: requests=<n> errors=<n> rate=<achieved/s> p50_ms=<> p90_ms=<> p99_ms=<> max_ms=<>
 */
public final class RateLoad {

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: java RateLoad.java HOST:PORT AUTHORITY RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]");
            System.exit(2);
        }
        String[] hp = args[0].split(":");
        InetSocketAddress target = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
        String authority = args[1];
        double rate = Double.parseDouble(args[2]);
        int seconds = Integer.parseInt(args[3]);
        int connections = args.length > 4 ? Integer.parseInt(args[4]) : 10;
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : 5;
        byte[] request = ("GET / HTTP/1.1\r\nHost: " + authority + "\r\nUser-Agent: rateload\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);

        long intervalNanos = (long) (1e9 * connections / rate);
        long start = System.nanoTime() + 200_000_000L;
        long measureFrom = start + warmup * 1_000_000_000L;
        long end = measureFrom + seconds * 1_000_000_000L;
        AtomicLong errors = new AtomicLong();
        List<long[]> perThread = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        int[] counts = new int[connections];
        for (int c = 0; c < connections; c++) {
            long[] samples = new long[(int) (rate * seconds / connections) + 16];
            perThread.add(samples);
            int index = c;
            long offset = intervalNanos * c / connections;   // spread the connections' schedules evenly
            Thread t = new Thread(() -> {
                Socket socket = null;
                InputStream in = null;
                int n = 0;
                for (long due = start + offset; due < end; due += intervalNanos) {
                    long wait;
                    while ((wait = due - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    try {
                        if (socket == null) {
                            socket = new Socket();
                            socket.setTcpNoDelay(true);
                            socket.connect(target, 5000);
                            socket.setSoTimeout(10_000);
                            in = new BufferedInputStream(socket.getInputStream(), 16384);
                        }
                        OutputStream out = socket.getOutputStream();
                        out.write(request);
                        out.flush();
                        int status = readResponse(in);
                        if (status != 200) {
                            errors.incrementAndGet();
                        }
                    } catch (IOException e) {
                        errors.incrementAndGet();
                        closeQuietly(socket);
                        socket = null;
                    }
                    long latency = System.nanoTime() - due;
                    if (due >= measureFrom && n < samples.length) {
                        samples[n++] = latency;
                    }
                }
                counts[index] = n;
                closeQuietly(socket);
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int k = 0;
        for (int c = 0; c < connections; c++) {
            System.arraycopy(perThread.get(c), 0, all, k, counts[c]);
            k += counts[c];
        }
        Arrays.sort(all);
        System.out.printf("requests=%d errors=%d rate=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f%n", total,
                errors.get(), total / (double) seconds, pct(all, 0.50), pct(all, 0.90), pct(all, 0.99),
                all.length == 0 ? 0 : all[all.length - 1] / 1e6);
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
