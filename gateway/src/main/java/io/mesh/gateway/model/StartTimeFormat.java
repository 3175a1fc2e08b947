package io.mesh.gateway.model;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The format of Envoy's {@code %START_TIME(...)%}: strftime's specifiers as Envoy renders them, in UTC, plus Envoy's own
 * sub-second ones: {@code %f} (nanoseconds, 9 digits), {@code %1f}..{@code %9f} (that many digits), {@code %E1S}..
 * {@code %E9S} (seconds with that many fractional digits) and {@code %s} (seconds since the epoch). No argument is
 * Envoy's default, {@code %Y-%m-%dT%H:%M:%E3SZ}. Compiled once; a specifier not served is an error naming it.
 * Immutable.
 */
final class StartTimeFormat {
    static final String ENVOY_DEFAULT = "%Y-%m-%dT%H:%M:%E3SZ";

    /** One piece: a literal (spec 0) or a specifier with its digits (for %Nf and %ENS). */
    private record Piece(char spec, int digits, String literal) {
    }

    private final Piece[] pieces;

    private StartTimeFormat(List<Piece> pieces) {
        this.pieces = pieces.toArray(Piece[]::new);
    }

    static StartTimeFormat compile(String format) {
        String f = format == null || format.isEmpty() ? ENVOY_DEFAULT : format;
        List<Piece> out = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < f.length(); i++) {
            char c = f.charAt(i);
            if (c != '%') {
                literal.append(c);
                continue;
            }
            if (i + 1 >= f.length()) {
                throw new IllegalArgumentException("START_TIME format \"" + f + "\" ends with a lone %");
            }
            char s = f.charAt(++i);
            int digits = 0;
            if (s >= '1' && s <= '9' && i + 1 < f.length() && f.charAt(i + 1) == 'f') {
                digits = s - '0';
                s = 'f';
                i++;
            } else if (s == 'E' && i + 2 < f.length() && f.charAt(i + 1) >= '1' && f.charAt(i + 1) <= '9'
                    && f.charAt(i + 2) == 'S') {
                digits = f.charAt(i + 1) - '0';
                s = 'E';
                i += 2;
            } else if (s == 'f') {
                digits = 9;
            }
            switch (s) {
                case '%' -> literal.append('%');
                case 'n' -> literal.append('\n');
                case 't' -> literal.append('\t');
                case 'Y', 'y', 'm', 'd', 'e', 'H', 'I', 'M', 'S', 'p', 'j', 'a', 'A', 'b', 'h', 'B', 'z', 'Z', 's',
                        'f', 'E', 'T', 'F', 'D', 'R', 'u', 'w', 'C' -> {
                    if (!literal.isEmpty()) {
                        out.add(new Piece((char) 0, 0, literal.toString()));
                        literal.setLength(0);
                    }
                    out.add(new Piece(s, digits, null));
                }
                default -> throw new IllegalArgumentException("START_TIME format \"" + f + "\": specifier %" + s
                        + " is not supported");
            }
        }
        if (!literal.isEmpty()) {
            out.add(new Piece((char) 0, 0, literal.toString()));
        }
        return new StartTimeFormat(out);
    }

    String render(Instant t) {
        ZonedDateTime z = t.atZone(ZoneOffset.UTC);
        StringBuilder sb = new StringBuilder(32);
        for (Piece p : pieces) {
            switch (p.spec) {
                case 0 -> sb.append(p.literal);
                case 'Y' -> sb.append(z.getYear());
                case 'C' -> pad(sb, z.getYear() / 100, 2);
                case 'y' -> pad(sb, z.getYear() % 100, 2);
                case 'm' -> pad(sb, z.getMonthValue(), 2);
                case 'd' -> pad(sb, z.getDayOfMonth(), 2);
                case 'e' -> sb.append(z.getDayOfMonth() < 10 ? " " : "").append(z.getDayOfMonth());
                case 'H' -> pad(sb, z.getHour(), 2);
                case 'I' -> pad(sb, z.getHour() % 12 == 0 ? 12 : z.getHour() % 12, 2);
                case 'M' -> pad(sb, z.getMinute(), 2);
                case 'S' -> pad(sb, z.getSecond(), 2);
                case 'p' -> sb.append(z.getHour() < 12 ? "AM" : "PM");
                case 'j' -> pad(sb, z.getDayOfYear(), 3);
                case 'a' -> sb.append(z.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ROOT));
                case 'A' -> sb.append(z.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ROOT));
                case 'u' -> sb.append(z.getDayOfWeek().getValue());
                case 'w' -> sb.append(z.getDayOfWeek().getValue() % 7);
                case 'b', 'h' -> sb.append(z.getMonth().getDisplayName(TextStyle.SHORT, Locale.ROOT));
                case 'B' -> sb.append(z.getMonth().getDisplayName(TextStyle.FULL, Locale.ROOT));
                case 'z' -> sb.append("+0000");
                case 'Z' -> sb.append("UTC");
                case 's' -> sb.append(t.getEpochSecond());
                case 'f' -> fraction(sb, z.getNano(), p.digits);
                case 'E' -> {
                    pad(sb, z.getSecond(), 2);
                    sb.append('.');
                    fraction(sb, z.getNano(), p.digits);
                }
                case 'T' -> time(sb, z, true);
                case 'R' -> time(sb, z, false);
                case 'F' -> {
                    sb.append(z.getYear()).append('-');
                    pad(sb, z.getMonthValue(), 2);
                    sb.append('-');
                    pad(sb, z.getDayOfMonth(), 2);
                }
                case 'D' -> {
                    pad(sb, z.getMonthValue(), 2);
                    sb.append('/');
                    pad(sb, z.getDayOfMonth(), 2);
                    sb.append('/');
                    pad(sb, z.getYear() % 100, 2);
                }
                default -> throw new IllegalStateException("compiled specifier " + p.spec);
            }
        }
        return sb.toString();
    }

    private static void time(StringBuilder sb, ZonedDateTime z, boolean seconds) {
        pad(sb, z.getHour(), 2);
        sb.append(':');
        pad(sb, z.getMinute(), 2);
        if (seconds) {
            sb.append(':');
            pad(sb, z.getSecond(), 2);
        }
    }

    /** The first {@code digits} digits of the nine of {@code nanos}. */
    private static void fraction(StringBuilder sb, int nanos, int digits) {
        int at = sb.length();
        pad(sb, nanos, 9);
        sb.setLength(at + digits);
    }

    private static void pad(StringBuilder sb, int v, int width) {
        String s = Integer.toString(v);
        for (int i = s.length(); i < width; i++) {
            sb.append('0');
        }
        sb.append(s);
    }
}
