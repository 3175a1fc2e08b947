package io.mesh.cli;

/**
 * One check of {@code meshctl check}: what was checked, whether it passed, what was seen, and what to do
 * about it when it failed.
 */
record CheckResult(String check, boolean ok, String detail, String hint) {

    static CheckResult pass(String check, String detail) {
        return new CheckResult(check, true, detail, null);
    }

    static CheckResult fail(String check, String detail, String hint) {
        return new CheckResult(check, false, detail, hint);
    }
}
