package io.mesh.config;

import io.mesh.config.AttributeExpression.Activation;
import io.mesh.config.AttributeExpression.EvalError;
import java.util.List;
import java.util.Map;

/**
 * A node of a parsed {@link AttributeExpression}: evaluated per request over an {@link Activation}, with the type the
 * parser knows of its value ({@link Type#DYN} when only a request tells). Nodes are immutable; evaluation allocates
 * only what a value needs (a concatenated string, a converted value).
 */
interface CelNode {

    /** CEL's types as far as the parser tells them (a uint is an INT here: both are Longs). */
    enum Type {
        BOOL("bool"), INT("int"), STRING("string"), LIST("list"), MAP("map"), DURATION("google.protobuf.Duration"),
        TIMESTAMP("google.protobuf.Timestamp"), NULL("null_type"), DYN("dyn");

        final String celName;

        Type(String celName) {
            this.celName = celName;
        }

        static Type of(Object constant) {
            if (constant == null) {
                return NULL;
            }
            if (constant instanceof Boolean) {
                return BOOL;
            }
            if (constant instanceof Long) {
                return INT;
            }
            if (constant instanceof String) {
                return STRING;
            }
            if (constant instanceof java.time.Duration) {
                return DURATION;
            }
            if (constant instanceof java.time.Instant) {
                return TIMESTAMP;
            }
            return constant instanceof List ? LIST : constant instanceof Map ? MAP : DYN;
        }
    }

    Object eval(Activation a);

    Type type();

    record Literal(Object value) implements CelNode {
        public Object eval(Activation a) {
            return value;
        }

        public Type type() {
            return Type.of(value);
        }
    }

    /** root.field, and root.field[key] when {@code key} is set (a map attribute's entry). */
    record Attribute(String root, String field, String key, Type type) implements CelNode {
        public Object eval(Activation a) {
            Object v = a.attribute(root, field);
            if (key != null) {
                if (!(v instanceof Map<?, ?> m)) {
                    throw new EvalError(root + "." + field + " is not a map");
                }
                v = m.get(key);
            }
            if (v == null) {
                throw new EvalError("no such key: " + root + "." + field);
            }
            return v;
        }

        /** Whether this is a map of headers (or trailers), which is looked up by name and never listed. */
        boolean headerMap() {
            return key == null && type == Type.MAP;
        }
    }

    record Has(Attribute attr) implements CelNode {
        public Object eval(Activation a) {
            try {
                attr.eval(a);
                return true;
            } catch (EvalError e) {
                return false;
            }
        }

        public Type type() {
            return Type.BOOL;
        }
    }

    record Not(CelNode n) implements CelNode {
        public Object eval(Activation a) {
            return !CelValues.bool(n.eval(a));
        }

        public Type type() {
            return Type.BOOL;
        }
    }

    record Ternary(CelNode cond, CelNode then, CelNode otherwise) implements CelNode {
        public Object eval(Activation a) {
            return CelValues.bool(cond.eval(a)) ? then.eval(a) : otherwise.eval(a);
        }

        public Type type() {
            return then.type() == otherwise.type() ? then.type() : Type.DYN;
        }
    }

    /** A list literal with an element that is not constant (a constant one is a {@link Literal}). */
    record ListOf(CelNode[] elements) implements CelNode {
        public Object eval(Activation a) {
            Object[] out = new Object[elements.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = elements[i].eval(a);
            }
            return java.util.Arrays.asList(out);
        }

        public Type type() {
            return Type.LIST;
        }
    }

    /** {@code element in container}: a list has an equal element, or a map has the key. */
    record In(CelNode element, CelNode container) implements CelNode {
        public Object eval(Activation a) {
            Object e = element.eval(a);
            Object c = container.eval(a);
            if (c instanceof List<?> l) {
                for (int i = 0; i < l.size(); i++) {
                    if (CelValues.equal(e, l.get(i))) {
                        return true;
                    }
                }
                return false;
            }
            if (c instanceof Map<?, ?> m) {
                // By lookup: a proxy's header map is looked up by name only (attribute values are never null).
                return m.get(e) != null;
            }
            throw new EvalError("no matching overload for 'in' on " + CelValues.typeName(c));
        }

        public Type type() {
            return Type.BOOL;
        }
    }

    /** A function of one value (a global call's argument or a member call's receiver). */
    @FunctionalInterface
    interface Fn1 {
        Object apply(Object v);
    }

    @FunctionalInterface
    interface Fn2 {
        Object apply(Object v, Object w);
    }

    record Call1(String name, CelNode arg, Fn1 fn, Type type) implements CelNode {
        public Object eval(Activation a) {
            return fn.apply(arg.eval(a));
        }
    }

    record Call2(String name, CelNode first, CelNode second, Fn2 fn, Type type) implements CelNode {
        public Object eval(Activation a) {
            return fn.apply(first.eval(a), second.eval(a));
        }
    }

    record Binary(String op, CelNode left, CelNode right) implements CelNode {
        public Object eval(Activation a) {
            if (op.equals("&&") || op.equals("||")) {
                // CEL's commutative logic: a side that decides (false for &&, true for ||) wins over an error.
                boolean decides = op.equals("||");
                EvalError error = null;
                try {
                    if (CelValues.bool(left.eval(a)) == decides) {
                        return decides;
                    }
                } catch (EvalError e) {
                    error = e;
                }
                if (CelValues.bool(right.eval(a)) == decides) {
                    return decides;
                }
                if (error != null) {
                    throw error;
                }
                return !decides;
            }
            Object l = left.eval(a);
            Object r = right.eval(a);
            return switch (op) {
                case "==" -> CelValues.equal(l, r);
                case "!=" -> !CelValues.equal(l, r);
                case "+" -> plus(l, r);
                case "<" -> CelValues.compare(op, l, r) < 0;
                case "<=" -> CelValues.compare(op, l, r) <= 0;
                case ">" -> CelValues.compare(op, l, r) > 0;
                default -> CelValues.compare(op, l, r) >= 0;
            };
        }

        private static Object plus(Object l, Object r) {
            if (l instanceof String ls && r instanceof String rs) {
                return ls + rs;
            }
            if (l instanceof Long li && r instanceof Long ri) {
                try {
                    return Math.addExact(li, ri);
                } catch (ArithmeticException e) {
                    throw new EvalError("int overflow");
                }
            }
            if (l instanceof List<?> ll && r instanceof List<?> rl) {
                List<Object> out = new java.util.ArrayList<>(ll);
                out.addAll(rl);
                return out;
            }
            throw new EvalError("no matching overload for '+' on " + CelValues.typeName(l) + " and "
                    + CelValues.typeName(r));
        }

        public Type type() {
            return switch (op) {
                case "+" -> left.type() != Type.DYN ? left.type() : right.type();
                default -> Type.BOOL;
            };
        }
    }
}
