package io.mesh.injector.inject;

import io.mesh.injector.InjectorConfig;

/**
 * The mesh-wide values the injector puts into every pod, taken from {@link InjectorConfig} once at start
 * and passed into the injector; nothing reads configuration per request.
 */
public record MeshSettings(
        String proxyImage,
        String imagePullPolicy,
        long proxyUid,
        String cpuRequest,
        String memoryRequest,
        String cpuLimit,
        String memoryLimit,
        boolean holdApplicationUntilProxyStarts,
        String includeOutboundIpRanges,
        String pilotAddress,
        String citadelAddress,
        String trustDomain,
        String tokenAudience,
        String caRootConfigMap,
        String terminationDrainDuration) {

    /** With Istio's default termination drain duration, 5s. */
    public MeshSettings(String proxyImage, String imagePullPolicy, long proxyUid, String cpuRequest, String memoryRequest,
            String cpuLimit, String memoryLimit, boolean holdApplicationUntilProxyStarts, String includeOutboundIpRanges,
            String pilotAddress, String citadelAddress, String trustDomain, String tokenAudience, String caRootConfigMap) {
        this(proxyImage, imagePullPolicy, proxyUid, cpuRequest, memoryRequest, cpuLimit, memoryLimit,
                holdApplicationUntilProxyStarts, includeOutboundIpRanges, pilotAddress, citadelAddress, trustDomain,
                tokenAudience, caRootConfigMap, "5s");
    }

    public MeshSettings {
        if (PodOverrides.drainSeconds(terminationDrainDuration) < 0) {
            throw new IllegalArgumentException("mesh.injector.proxy.termination-drain-duration: '" + terminationDrainDuration
                    + "' is not a duration in seconds (e.g. 5s, 30s, 1.5s)");
        }
        for (String[] quantity : new String[][] {{"cpu-request", cpuRequest}, {"memory-request", memoryRequest},
                {"cpu-limit", cpuLimit}, {"memory-limit", memoryLimit}}) {
            if (!PodOverrides.isQuantity(quantity[1])) {
                throw new IllegalArgumentException("mesh.injector.proxy." + quantity[0] + ": '" + quantity[1]
                        + "' is not a resource quantity (e.g. 100m, 0.5, 128Mi)");
            }
        }
        if (proxyImage.isBlank()) {
            throw new IllegalArgumentException("mesh.injector.proxy.image is empty");
        }
        if (proxyUid <= 0) {
            throw new IllegalArgumentException("mesh.injector.proxy.uid must be a non-root uid, not " + proxyUid);
        }
    }

    public static MeshSettings from(InjectorConfig config) {
        InjectorConfig.Proxy proxy = config.proxy();
        InjectorConfig.Mesh mesh = config.mesh();
        return new MeshSettings(proxy.image(), proxy.imagePullPolicy(), proxy.uid(), proxy.cpuRequest(),
                proxy.memoryRequest(), proxy.cpuLimit(), proxy.memoryLimit(), proxy.holdApplicationUntilProxyStarts(),
                proxy.includeOutboundIpRanges(), mesh.pilotAddress(), mesh.citadelAddress(), mesh.trustDomain(),
                mesh.tokenAudience(), mesh.caRootConfigMap(), proxy.terminationDrainDuration());
    }
}
