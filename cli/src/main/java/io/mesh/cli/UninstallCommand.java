package io.mesh.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import picocli.CommandLine.Command;

/** Prints what {@code kubectl delete -f -} must remove: the install, in reverse order. */
@Command(name = "uninstall", mixinStandardHelpOptions = true,
        description = "Print the mesh's manifests in deletion order, for kubectl delete -f -."
                + " Deleting the CRDs also deletes every Istio resource in the cluster.",
        footer = {"", "Example:", "  meshctl uninstall | kubectl delete --ignore-not-found -f -"})
public class UninstallCommand extends InstallCommand {

    @Override
    List<ObjectNode> order(List<ObjectNode> objects) {
        return ManifestRenderer.deletionOrder(objects);
    }
}
