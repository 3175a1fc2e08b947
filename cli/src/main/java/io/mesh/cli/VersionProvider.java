package io.mesh.cli;

import picocli.CommandLine.IVersionProvider;

/** The version of the packaged CLI, which is also the default tag of the images it installs. */
public class VersionProvider implements IVersionProvider {

    /** The project version: the build's quarkus.application.version, else the jar manifest's. */
    public static String version() {
        String version = org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("quarkus.application.version", String.class)
                .orElse(VersionProvider.class.getPackage().getImplementationVersion());
        return version != null ? version : "0.1.0-SNAPSHOT";
    }

    @Override
    public String[] getVersion() {
        return new String[] {"meshctl " + version()};
    }
}
