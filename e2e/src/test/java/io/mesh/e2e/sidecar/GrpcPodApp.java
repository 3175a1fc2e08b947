package io.mesh.e2e.sidecar;

import io.grpc.CallOptions;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.mesh.testing.grpc.NamedGrpcBackend;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC apps of {@link SidecarMeshIT}, run as processes inside the pods' network namespaces: {@code server NAME
 * PORT [NAME PORT ...]} is app B (plaintext grpc-java on each PORT answering as NAME, as a container next to its
 * sidecar would be); the other modes are app A (a plain {@link ManagedChannel} to the service name; the sidecars add
 * mTLS). {@code client TARGET} makes each kind of call once, {@code until-refused TARGET} calls until a policy refuses
 * it, {@code split TARGET N} counts which app answers N calls on one channel. Each prints what came back as
 * {@code key=value} lines for the test to check and exits 0 when the calls returned (a failed call the test expects is
 * printed, not thrown, so the test sees its status and trailers).
 */
public final class GrpcPodApp {

    static final String SERVICE = "mesh.test.Echo";
    static final Metadata.Key<String> CALLER = Metadata.Key.of("x-caller", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> REASON = Metadata.Key.of("x-reason", Metadata.ASCII_STRING_MARSHALLER);
    /** A request and response large enough to need HTTP/2 flow-control window updates on every hop. */
    static final int LARGE = 1 << 20;

    private static final MethodDescriptor.Marshaller<String> UTF8 = NamedGrpcBackend.NAME.getRequestMarshaller();

    static final MethodDescriptor<String, String> SAY = method("Say", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> COUNT = method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
    static final MethodDescriptor<String, String> CHAT = method("Chat", MethodDescriptor.MethodType.BIDI_STREAMING);
    static final MethodDescriptor<String, String> FAIL = method("Fail", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> TICKS = method("Ticks", MethodDescriptor.MethodType.SERVER_STREAMING);
    /** The longest a Ticks stream runs when nobody cancels it: 600 ticks, 50 ms apart. */
    static final int MAX_TICKS = 600;

    private GrpcPodApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 3 && args.length % 2 == 1 && args[0].equals("server")) {
            List<Server> servers = new ArrayList<>();
            for (int i = 1; i < args.length; i += 2) {
                servers.add(serve(args[i], Integer.parseInt(args[i + 1])));
            }
            servers.get(0).awaitTermination();
        } else if (args.length == 3 && args[0].equals("split")) {
            System.exit(split(args[1], Integer.parseInt(args[2])));
        } else if (args.length == 2 && args[0].equals("client")) {
            System.exit(client(args[1]));
        } else if (args.length == 2 && args[0].equals("until-refused")) {
            System.exit(untilRefused(args[1]));
        } else {
            System.err.println("usage: GrpcPodApp server NAME PORT [NAME PORT ...] | client HOST:PORT | until-refused HOST:PORT"
                    + " | split HOST:PORT N");
            System.exit(2);
        }
    }

    private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<String, String>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
                .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();
    }

    // ----- app B

    private static final java.util.concurrent.ScheduledExecutorService TIMER =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ticks");
                t.setDaemon(true);
                return t;
            });
    private static final io.grpc.Context.Key<String> AUTHORITY = io.grpc.Context.key("authority");
    private static final io.grpc.Context.Key<String> CALLER_SEEN = io.grpc.Context.key("caller");

    private static Server serve(String name, int port) throws Exception {
        ServerServiceDefinition echo = ServerServiceDefinition.builder(SERVICE)
                // "NAME|AUTHORITY|CALLER|LENGTH|REQUEST" (requests over 64 bytes are answered with as many bytes back)
                .addMethod(SAY, ServerCalls.asyncUnaryCall((request, response) -> {
                    String shown = request.length() > 64 ? "large" : request;
                    String reply = name + "|" + AUTHORITY.get() + "|" + CALLER_SEEN.get() + "|" + request.length() + "|" + shown;
                    if (request.length() > 64) {
                        reply = reply + "|" + "b".repeat(request.length());
                    }
                    response.onNext(reply);
                    response.onCompleted();
                }))
                // "N:WORD" streams WORD-1 .. WORD-N, one message each
                .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((request, response) -> {
                    int n = Integer.parseInt(request.substring(0, request.indexOf(':')));
                    String word = request.substring(request.indexOf(':') + 1);
                    for (int i = 1; i <= n; i++) {
                        response.onNext(word + "-" + i);
                    }
                    response.onCompleted();
                }))
                // each message back in upper case, as it arrives; the server completes when the client does
                .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(response -> new StreamObserver<String>() {
                    @Override
                    public void onNext(String value) {
                        response.onNext(value.toUpperCase(java.util.Locale.ROOT));
                    }

                    @Override
                    public void onError(Throwable t) {
                        // the client went away
                    }

                    @Override
                    public void onCompleted() {
                        response.onCompleted();
                    }
                }))
                // always fails: FAILED_PRECONDITION with a message naming the request, and a trailer of its own
                .addMethod(FAIL, ServerCalls.asyncUnaryCall((request, response) -> {
                    Metadata trailers = new Metadata();
                    trailers.put(REASON, "locked-by-" + name);
                    response.onError(Status.FAILED_PRECONDITION.withDescription("widget " + request + " is locked")
                            .asRuntimeException(trailers));
                }))
                // a tick every 50 ms until the client cancels (then it says so on stdout) or MAX_TICKS were sent
                .addMethod(TICKS, ServerCalls.asyncServerStreamingCall((request, response) -> {
                    var stream = (io.grpc.stub.ServerCallStreamObserver<String>) response;
                    java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
                    java.util.concurrent.CompletableFuture<java.util.concurrent.ScheduledFuture<?>> ticking =
                            new java.util.concurrent.CompletableFuture<>();
                    stream.setOnCancelHandler(() -> {
                        ticking.thenAccept(f -> f.cancel(false));
                        System.out.println("ticks " + request + " cancelled after " + sent.get());
                    });
                    ticking.complete(TIMER.scheduleAtFixedRate(() -> {
                        if (stream.isCancelled()) {
                            return;
                        }
                        if (sent.get() >= MAX_TICKS) {
                            stream.onCompleted();
                            ticking.thenAccept(f -> f.cancel(false));
                            System.out.println("ticks " + request + " completed");
                            return;
                        }
                        stream.onNext("tick-" + sent.incrementAndGet());
                    }, 0, 50, TimeUnit.MILLISECONDS));
                }))
                .build();
        io.grpc.ServerInterceptor seen = new io.grpc.ServerInterceptor() {
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata headers,
                    io.grpc.ServerCallHandler<Q, R> next) {
                io.grpc.Context context = io.grpc.Context.current().withValue(AUTHORITY, call.getAuthority())
                        .withValue(CALLER_SEEN, headers.get(CALLER));
                return Contexts.interceptCall(context, call, headers, next);
            }
        };
        Server server = Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
                .addService(ServerInterceptors.intercept(echo, seen)).build().start();
        System.out.println("grpc app " + name + " listening on " + port);
        return server;
    }

    // ----- app A

    private static int client(String target) throws Exception {
        ManagedChannel channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
        try {
            Metadata headers = new Metadata();
            headers.put(CALLER, "app-a");
            io.grpc.Channel ch = io.grpc.ClientInterceptors.intercept(channel,
                    io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));

            System.out.println("unary=" + ClientCalls.blockingUnaryCall(ch, SAY, options(), "hello"));

            String large = ClientCalls.blockingUnaryCall(ch, SAY, options(), "a".repeat(LARGE));
            String head = large.substring(0, large.lastIndexOf('|'));
            String tail = large.substring(large.lastIndexOf('|') + 1);
            boolean allB = tail.chars().allMatch(c -> c == 'b');
            System.out.println("large=" + head + "|" + tail.length() + (allB ? "" : "|corrupt"));

            List<String> counted = new ArrayList<>();
            Iterator<String> it = ClientCalls.blockingServerStreamingCall(ch, COUNT, options(), "5:tick");
            it.forEachRemaining(counted::add);
            System.out.println("stream=" + String.join(",", counted));

            System.out.println("bidi=" + chat(ch, List.of("one", "two", "three")));

            try {
                String unexpected = ClientCalls.blockingUnaryCall(ch, FAIL, options(), "42");
                System.out.println("fail=returned " + unexpected);
            } catch (StatusRuntimeException e) {
                Metadata trailers = e.getTrailers();
                System.out.println("fail=" + e.getStatus().getCode() + "|" + e.getStatus().getDescription() + "|"
                        + (trailers == null ? null : trailers.get(REASON)));
            }
            // A stream app A gives up on: the cancel (RST_STREAM) must reach app B through both sidecars.
            io.grpc.Context.CancellableContext cancellable = io.grpc.Context.current().withCancellation();
            Iterator<String> ticks = cancellable.call(() -> ClientCalls.blockingServerStreamingCall(ch, TICKS, options(), "t1"));
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                got.add(ticks.next());
            }
            cancellable.cancel(null);
            System.out.println("cancel=" + String.join(",", got));
            return 0;
        } catch (RuntimeException e) {
            System.out.println("error=" + e);
            e.printStackTrace(System.out);
            return 1;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Calls Say every 200 ms (for up to 30 s, while a policy reaches the sidecars) until a call fails, prints that
     * status as {@code refused=CODE|DESCRIPTION}, then a Count stream as {@code then=...} (another method).
     */
    private static int untilRefused(String target) throws Exception {
        ManagedChannel channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    ClientCalls.blockingUnaryCall(channel, SAY, options(), "may-i");
                } catch (StatusRuntimeException e) {
                    System.out.println("refused=" + e.getStatus().getCode() + "|" + e.getStatus().getDescription());
                    break;
                }
                if (System.nanoTime() > end) {
                    System.out.println("refused=never");
                    return 1;
                }
                Thread.sleep(200);
            }
            List<String> counted = new ArrayList<>();
            ClientCalls.blockingServerStreamingCall(channel, COUNT, options(), "2:then").forEachRemaining(counted::add);
            System.out.println("then=" + String.join(",", counted));
            return 0;
        } catch (RuntimeException e) {
            System.out.println("error=" + e);
            e.printStackTrace(System.out);
            return 1;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /**
     * On one channel (grpc-java's one connection to the service's address): Say until a second app answers (for up to
     * 30 s, while a route reaches the sidecar; printed as {@code warmup=NAME:COUNT,...}), then {@code n} calls counted by
     * the app that answered ({@code split=NAME:COUNT,...}), and the authorities the apps saw ({@code authorities=...}).
     */
    private static int split(String target, int n) throws Exception {
        ManagedChannel channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
        try {
            java.util.Map<String, Integer> warmup = new java.util.TreeMap<>();
            java.util.Set<String> authorities = new java.util.TreeSet<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (warmup.size() < 2 && System.nanoTime() < end) {
                String[] f = ClientCalls.blockingUnaryCall(channel, SAY, options(), "warmup").split("\\|");
                warmup.merge(f[0], 1, Integer::sum);
                authorities.add(f[1]);
            }
            System.out.println("warmup=" + counts(warmup));
            java.util.Map<String, Integer> split = new java.util.TreeMap<>();
            for (int i = 0; i < n; i++) {
                String[] f = ClientCalls.blockingUnaryCall(channel, SAY, options(), "call-" + i).split("\\|");
                split.merge(f[0], 1, Integer::sum);
                authorities.add(f[1]);
            }
            System.out.println("split=" + counts(split));
            System.out.println("authorities=" + String.join(",", authorities));
            return 0;
        } catch (RuntimeException e) {
            System.out.println("error=" + e);
            e.printStackTrace(System.out);
            return 1;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static String counts(java.util.Map<String, Integer> counts) {
        return String.join(",", counts.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue()).toList());
    }

    private static CallOptions options() {
        return CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    /** Sends each message once the previous answer arrived (a real conversation), returns the answers in order. */
    private static String chat(io.grpc.Channel ch, List<String> messages) throws InterruptedException {
        List<String> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.LinkedBlockingQueue<String> arrived = new java.util.concurrent.LinkedBlockingQueue<>();
        CountDownLatch done = new CountDownLatch(1);
        Status[] status = new Status[1];
        StreamObserver<String> requests = ClientCalls.asyncBidiStreamingCall(ch.newCall(CHAT, options()),
                new StreamObserver<String>() {
                    @Override
                    public void onNext(String value) {
                        answers.add(value);
                        arrived.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        status[0] = Status.fromThrowable(t);
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        status[0] = Status.OK;
                        done.countDown();
                    }
                });
        for (String m : messages) {
            requests.onNext(m);
            if (arrived.poll(20, TimeUnit.SECONDS) == null) {
                requests.onError(Status.DEADLINE_EXCEEDED.withDescription("no answer to " + m).asRuntimeException());
                return "no answer to " + m + " (got " + answers + ")";
            }
        }
        requests.onCompleted();
        if (!done.await(20, TimeUnit.SECONDS)) {
            return "not completed (got " + answers + ")";
        }
        return String.join(",", answers) + "|" + status[0].getCode();
    }
}
