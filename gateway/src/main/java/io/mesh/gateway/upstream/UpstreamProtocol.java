package io.mesh.gateway.upstream;

/** Which HTTP version the gateway speaks to a cluster's endpoints. */
public enum UpstreamProtocol { HTTP1, HTTP2, DOWNSTREAM }
