package io.mesh.telemetry.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * OTLP/JSON, which is protobuf's JSON mapping with two twists (OTLP spec, "JSON Protobuf Encoding"): trace and
 * span ids are hex strings, not base64, and unknown fields must be ignored. It owns only that translation.
 */
public final class OtlpJson {

    private static final Set<String> ID_FIELDS = Set.of("traceId", "spanId", "parentSpanId", "trace_id", "span_id",
            "parent_span_id");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

    private OtlpJson() {
    }

    /** Parses OTLP/JSON into {@code builder}; anything that is not valid OTLP/JSON is {@code MALFORMED}. */
    public static void merge(byte[] json, Message.Builder builder) {
        try {
            JsonNode tree = MAPPER.readTree(json);
            if (tree == null || !tree.isObject()) {
                throw new IngestException(IngestException.Reason.MALFORMED, "the body is not a JSON object");
            }
            hexIdsToBase64(tree);
            PARSER.merge(MAPPER.writeValueAsString(tree), builder);
        } catch (InvalidProtocolBufferException e) {
            throw new IngestException(IngestException.Reason.MALFORMED, "invalid OTLP/JSON: " + e.getMessage());
        } catch (JsonProcessingException e) {
            throw new IngestException(IngestException.Reason.MALFORMED, "invalid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new IngestException(IngestException.Reason.MALFORMED, "unreadable JSON: " + e.getMessage());
        }
    }

    public static String print(MessageOrBuilder message) {
        try {
            return PRINTER.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
        }
    }

    private static void hexIdsToBase64(JsonNode node) {
        if (node instanceof ObjectNode object) {
            Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                JsonNode value = field.getValue();
                if (ID_FIELDS.contains(field.getKey()) && value.isTextual()) {
                    field.setValue(object.textNode(hexToBase64(field.getKey(), value.asText())));
                } else {
                    hexIdsToBase64(value);
                }
            }
        } else if (node instanceof ArrayNode array) {
            array.forEach(OtlpJson::hexIdsToBase64);
        }
    }

    private static String hexToBase64(String field, String hex) {
        try {
            return Base64.getEncoder().encodeToString(HexFormat.of().parseHex(hex));
        } catch (IllegalArgumentException e) {
            throw new IngestException(IngestException.Reason.MALFORMED, field + " is not a hex string: " + hex);
        }
    }
}
