package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;

/**
 * The config of an Istio filter that Envoy knows only as a TypedStruct (xds.type.v3 or the older udpa.type.v1): its
 * fields, once the struct's own type URL is checked against the one the filter needs.
 */
final class TypedStructs {
    static final String XDS = "type.googleapis.com/xds.type.v3.TypedStruct";
    static final String UDPA = "type.googleapis.com/udpa.type.v1.TypedStruct";

    private TypedStructs() {
    }

    /**
     * The fields of {@code config}, a TypedStruct of {@code configType} for the filter {@code filter}; anything else is
     * refused, {@code where} and both type URLs named.
     */
    static Struct fields(Any config, String filter, String configType, String where) throws ConfigRejected {
        String inner;
        Struct fields;
        try {
            switch (config.getTypeUrl()) {
                case XDS -> {
                    var ts = config.unpack(com.github.xds.type.v3.TypedStruct.class);
                    inner = ts.getTypeUrl();
                    fields = ts.getValue();
                }
                case UDPA -> {
                    var ts = config.unpack(com.github.udpa.udpa.type.v1.TypedStruct.class);
                    inner = ts.getTypeUrl();
                    fields = ts.getValue();
                }
                default -> throw new ConfigRejected(where + ": " + filter + " needs a TypedStruct of " + configType
                        + ", got " + config.getTypeUrl());
            }
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigRejected(where + ": cannot decode " + config.getTypeUrl() + ": " + e.getMessage());
        }
        if (!configType.equals(inner)) {
            throw new ConfigRejected(where + ": " + filter + " needs " + configType + ", got " + inner);
        }
        return fields;
    }
}
