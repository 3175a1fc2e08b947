package io.mesh.testing.kube;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Path;
import java.util.Map;

/** Quarkus test resource: starts KubeApiMock, points quarkus-kubernetes-client at it, writes a kubeconfig for kubectl. */
public class KubeApiMockResource implements QuarkusTestResourceLifecycleManager {
  private KubeApiMock mock;

  @Override
  public Map<String, String> start() {
    try {
      mock = KubeApiMock.start(0, false, false);
      Path kc = mock.writeKubeconfig(Path.of("target", "kube-api-mock", "kubeconfig"), "default").toAbsolutePath();
      // Same mechanism as Quarkus' own KubernetesServerTestResource: fabric8 system properties (runtime),
      // not quarkus.kubernetes-client.* (those are build-time fixed in 3.33 and only trigger warnings).
      Map<String, String> props = Map.of(
          "kubernetes.master", mock.url(),
          "kubernetes.trust.certificates", "true",
          "kubernetes.namespace", "default",
          "kubernetes.auth.tryKubeConfig", "false",
          "kubernetes.auth.tryServiceAccount", "false",
          "kubernetes.http2.disable", "true");
      props.forEach(System::setProperty);
      Map<String, String> config = new java.util.HashMap<>(props);
      config.put("kube-api-mock.url", mock.url());
      config.put("kube-api-mock.kubeconfig", kc.toString());
      return config;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void inject(TestInjector injector) {
    injector.injectIntoFields(mock, new TestInjector.MatchesType(KubeApiMock.class));
  }

  @Override
  public void stop() {
    if (mock != null) mock.close();
  }
}
