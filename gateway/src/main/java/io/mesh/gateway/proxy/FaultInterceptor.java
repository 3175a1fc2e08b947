package io.mesh.gateway.proxy;

import io.mesh.gateway.route.FaultPolicy;
import java.util.concurrent.ThreadLocalRandom;

/** Envoy's fault filter: delays a share of requests, then aborts a share with a fixed status (flag FI/DI). */
final class FaultInterceptor implements ProxyInterceptor {

    @Override
    public void onRequest(ProxyExchange ex) {
        FaultPolicy f = ex.route.fault();
        if (f == null) {
            ex.next();
            return;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        if (f.delayPerMillion() > 0 && r.nextInt(1_000_000) < f.delayPerMillion()) {
            ex.addFlag(ResponseFlag.DI);
            ex.request.pause();
            ex.vertx().setTimer(Math.max(1, f.delayMs()), t -> abortOrNext(ex, f));
            return;
        }
        abortOrNext(ex, f);
    }

    private static void abortOrNext(ProxyExchange ex, FaultPolicy f) {
        if (ex.finished()) {
            return;
        }
        if (f.abortPerMillion() > 0 && ThreadLocalRandom.current().nextInt(1_000_000) < f.abortPerMillion()) {
            ex.sendLocal(f.abortStatus(), ResponseFlag.FI, "fault filter abort");
            return;
        }
        ex.next();
    }
}
