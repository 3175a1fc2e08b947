package io.mesh.gateway.xds;

/** A resource the gateway cannot apply; the message is the NACK's error detail, naming the resource. */
public class ConfigRejected extends Exception {

    public ConfigRejected(String message) {
        super(message, null, false, false);
    }
}
