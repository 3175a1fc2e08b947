package io.mesh.config;

import io.mesh.config.AttributeExpression.EvalError;
import io.mesh.config.CelNode.Type;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * CEL's standard functions that Telemetry expressions use, as the CEL spec defines them: the string tests
 * {@code startsWith}, {@code endsWith}, {@code contains} (member calls), {@code matches} (member or global; RE2 syntax
 * and a partial match, RE2's find), {@code size} (member or global; a string's code points, a list's or map's
 * entries), the conversions {@code string()}, {@code int()}, {@code uint()}, and the {@code duration()} and
 * {@code timestamp()} literals. A call is checked when it is parsed: an unknown function, a wrong arity, or an argument
 * whose type the parser knows and no overload takes is an error naming the position; so is a call on constants that has
 * no value (an invalid regex, {@code duration('x')}), which is evaluated once there. A regex is compiled once when it
 * is a literal.
 */
final class CelFunctions {

    /** The functions served, for the error that names an unknown one. */
    static final List<String> NAMES = List.of("contains", "duration", "endsWith", "int", "matches", "size",
            "startsWith", "string", "timestamp", "uint");

    private static final Set<String> MEMBERS = Set.of("contains", "endsWith", "matches", "size", "startsWith");
    private static final Set<String> GLOBALS = Set.of("duration", "int", "matches", "size", "string", "timestamp",
            "uint");

    /** A parse error at a position of the expression. */
    @FunctionalInterface
    interface Errors {
        IllegalArgumentException at(int pos, String what);
    }

    private CelFunctions() {
    }

    /** Refuses an unknown function, or one called the wrong way, before its arguments are parsed. */
    static void checkName(String name, int at, boolean member, Errors errors) {
        if (!NAMES.contains(name)) {
            throw errors.at(at, "unknown function \"" + name + "\" (served: " + NAMES + ", and has())");
        }
        if (member && !MEMBERS.contains(name)) {
            throw errors.at(at, name + "() is not a member function: call it as " + name + "(value)");
        }
        if (!member && !GLOBALS.contains(name)) {
            throw errors.at(at, name + "() is a member function: call it as value." + name + "(...)");
        }
    }

    /**
     * The call {@code name} at {@code at}: on {@code target} (a member call; null for a global one) with {@code args},
     * whose positions are {@code argAt}.
     */
    static CelNode call(String name, int at, CelNode target, int targetAt, List<CelNode> args, List<Integer> argAt,
            Errors errors) {
        checkName(name, at, target != null, errors);
        // The operands in order: a member call's receiver first, as CEL's overloads list them.
        List<CelNode> operands = new java.util.ArrayList<>();
        List<Integer> operandAt = new java.util.ArrayList<>();
        if (target != null) {
            operands.add(target);
            operandAt.add(targetAt);
        }
        operands.addAll(args);
        operandAt.addAll(argAt);
        int arity = switch (name) {
            case "contains", "endsWith", "startsWith", "matches" -> 2;
            default -> 1;
        };
        if (operands.size() != arity) {
            int wanted = target != null ? arity - 1 : arity;
            throw errors.at(at, (target != null ? "." : "") + name + "() takes " + wanted + " argument"
                    + (wanted == 1 ? "" : "s") + ", got " + args.size());
        }
        CelNode node = switch (name) {
            case "startsWith", "endsWith", "contains" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.STRING), Set.of(Type.STRING));
                yield new CelNode.Call2(name, operands.get(0), operands.get(1), stringTest(name), Type.BOOL);
            }
            case "matches" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.STRING), Set.of(Type.STRING));
                yield matches(operands.get(0), operands.get(1), operandAt.get(1), errors);
            }
            case "size" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.STRING, Type.LIST, Type.MAP));
                if (operands.get(0) instanceof CelNode.Attribute a && a.headerMap()) {
                    throw errors.at(operandAt.get(0), "size(" + a.root() + "." + a.field() + ") is not served: headers"
                            + " are looked up by name, never listed");
                }
                yield new CelNode.Call1(name, operands.get(0), CelFunctions::size, Type.INT);
            }
            case "string" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.STRING, Type.INT, Type.BOOL, Type.DURATION,
                        Type.TIMESTAMP));
                yield new CelNode.Call1(name, operands.get(0), CelFunctions::toStringValue, Type.STRING);
            }
            case "int" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.INT, Type.STRING, Type.TIMESTAMP));
                yield new CelNode.Call1(name, operands.get(0), CelFunctions::toInt, Type.INT);
            }
            case "uint" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.INT, Type.STRING));
                yield new CelNode.Call1(name, operands.get(0), CelFunctions::toUint, Type.INT);
            }
            case "duration" -> {
                expect(name, operands, operandAt, errors, Set.of(Type.STRING, Type.DURATION));
                yield new CelNode.Call1(name, operands.get(0), v -> v instanceof java.time.Duration ? v
                        : CelValues.duration(CelValues.string(v, name)), Type.DURATION);
            }
            default -> {   // timestamp
                expect(name, operands, operandAt, errors, Set.of(Type.STRING, Type.TIMESTAMP));
                yield new CelNode.Call1(name, operands.get(0), v -> v instanceof java.time.Instant ? v
                        : CelValues.timestamp(CelValues.string(v, name)), Type.TIMESTAMP);
            }
        };
        return constant(node, operands, at, errors);
    }

    /** Each operand's known type must be one an overload takes: {@code accepts[i]} for operand i. */
    @SafeVarargs
    private static void expect(String name, List<CelNode> operands, List<Integer> at, Errors errors,
            Set<Type>... accepts) {
        for (int i = 0; i < operands.size(); i++) {
            Type t = operands.get(i).type();
            if (t != Type.DYN && !accepts[i].contains(t)) {
                throw errors.at(at.get(i), "no matching overload for " + name + "() on " + t.celName + " (takes "
                        + accepts[i].stream().map(a -> a.celName).sorted().toList() + ")");
            }
        }
    }

    /** A call on constants is evaluated once, here: its value, or its error as a parse error. */
    private static CelNode constant(CelNode call, List<CelNode> operands, int at, Errors errors) {
        for (CelNode o : operands) {
            if (!(o instanceof CelNode.Literal)) {
                return call;
            }
        }
        try {
            return new CelNode.Literal(call.eval((root, field) -> null));
        } catch (EvalError e) {
            throw errors.at(at, e.getMessage());
        }
    }

    private static CelNode.Fn2 stringTest(String name) {
        return switch (name) {
            case "startsWith" -> (s, p) -> CelValues.string(s, name).startsWith(CelValues.string(p, name));
            case "endsWith" -> (s, p) -> CelValues.string(s, name).endsWith(CelValues.string(p, name));
            default -> (s, p) -> CelValues.string(s, name).contains(CelValues.string(p, name));
        };
    }

    /** {@code input.matches(pattern)}: a literal pattern compiled now (an invalid one names its position). */
    private static CelNode matches(CelNode input, CelNode pattern, int patternAt, Errors errors) {
        if (pattern instanceof CelNode.Literal l && l.value() instanceof String regex) {
            com.google.re2j.Pattern p;
            try {
                p = com.google.re2j.Pattern.compile(regex);
            } catch (com.google.re2j.PatternSyntaxException e) {
                throw errors.at(patternAt, "invalid regex for matches(): " + e.getDescription() + " in \""
                        + regex + "\"");
            }
            return new CelNode.Call1("matches", input, v -> p.matcher(CelValues.string(v, "matches")).find(),
                    Type.BOOL);
        }
        return new CelNode.Call2("matches", input, pattern, (v, r) -> {
            try {
                return com.google.re2j.Pattern.compile(CelValues.string(r, "matches"))
                        .matcher(CelValues.string(v, "matches")).find();
            } catch (com.google.re2j.PatternSyntaxException e) {
                throw new EvalError("invalid regex: " + e.getDescription());
            }
        }, Type.BOOL);
    }

    private static Object size(Object v) {
        if (v instanceof String s) {
            return (long) s.codePointCount(0, s.length());
        }
        if (v instanceof List<?> l) {
            return (long) l.size();
        }
        if (v instanceof Map<?, ?> m) {
            try {
                return (long) m.size();
            } catch (UnsupportedOperationException e) {   // a proxy's header map is looked up by name, never listed
                throw new EvalError("size() of headers is not served");
            }
        }
        throw new EvalError("no matching overload for size() on " + CelValues.typeName(v));
    }

    private static Object toStringValue(Object v) {
        String s = CelValues.print(v);
        if (s == null) {
            throw new EvalError("no matching overload for string() on " + CelValues.typeName(v));
        }
        return s;
    }

    private static Object toInt(Object v) {
        if (v instanceof Long) {
            return v;
        }
        if (v instanceof String s) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new EvalError("int(): cannot convert \"" + s + "\"");
            }
        }
        if (v instanceof java.time.Instant t) {
            return t.getEpochSecond();
        }
        throw new EvalError("no matching overload for int() on " + CelValues.typeName(v));
    }

    private static Object toUint(Object v) {
        Object i = v instanceof String s ? parseUint(s) : v;
        if (!(i instanceof Long l)) {
            throw new EvalError("no matching overload for uint() on " + CelValues.typeName(v));
        }
        if (l < 0) {
            throw new EvalError("uint(): " + l + " out of range");
        }
        return l;
    }

    private static Long parseUint(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new EvalError("uint(): cannot convert \"" + s + "\"");
        }
    }
}
