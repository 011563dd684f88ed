// Table-driven bad inputs through the CLI: every case of tests/bad/cases.tsv runs `onestone ARGS` and must
// exit with the listed status and print exactly one error line, the last line of stderr, of the form
// "onestone COMMAND: ..." holding the listed text (docs/reliability.md). Progress lines may come before it.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util/fileio.h"

static char tmp[600], bad[600];
static const char *bin;

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path) {
    char *data = NULL;
    size_t len;
    if (os_read_file(path, &data, &len)) return strdup("");
    return data;
}

// A tiny trained run, a copy of its best model with model.safetensors cut in half, invalid UTF-8 inputs.
static int setup(void) {
    char cmd[4096], path[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", tmp, tmp);
    if (sh(cmd)) return 0;
    snprintf(cmd, sizeof cmd, "%s train '%s/good.json' --out '%s/run' --quiet --max-steps 2 >/dev/null", bin, bad,
             tmp);
    if (sh(cmd)) return 0;
    snprintf(cmd, sizeof cmd, "cp -r '%s/run/best' '%s/trunc'", tmp, tmp);
    if (sh(cmd)) return 0;
    snprintf(path, sizeof path, "%s/trunc/model.safetensors", tmp);
    char *data;
    size_t len;
    if (os_read_file(path, &data, &len)) return 0;
    os_status st = os_write_file_atomic(path, data, len / 2);
    free(data);
    if (st) return 0;
    static const char jsonl[] = "{\"text\": \"the movie \xff\xfe good\", \"label\": \"positive\"}\n";
    snprintf(path, sizeof path, "%s/invalid_utf8.jsonl", tmp);
    if (os_write_file_atomic(path, jsonl, strlen(jsonl))) return 0;
    static const char text[] = "the \xff good\n";
    snprintf(path, sizeof path, "%s/invalid_utf8.txt", tmp);
    return os_write_file_atomic(path, text, strlen(text)) == OS_OK;
}

static const char *const commands[] = {"train", "eval", "predict", "tokenize", "vocab", "version"};

static void run_case(int line, int code, const char *needle, const char *args) {
    char cmd[8192], out[700], err[700];
    snprintf(out, sizeof out, "%s/case.out", tmp);
    snprintf(err, sizeof err, "%s/case.err", tmp);
    snprintf(cmd, sizeof cmd, "%s </dev/null %s >'%s' 2>'%s'", bin, args, out, err);
    int rc = sh(cmd);
    char *so = slurp(out), *se = slurp(err);
    CHECK_MSG(rc == code, "cases.tsv:%d: `%s` exited %d, expected %d; stderr: %s", line, args, rc, code, se);
    if (code == 0) {
        CHECK_MSG(strstr(se, needle) || strstr(so, needle), "cases.tsv:%d: `%s` printed no '%s'; stderr: %s",
                  line, args, needle, se);
    } else {
        // The command word decides the prefix: "onestone CMD: " (or "onestone: " for an unknown command).
        char cmdword[64] = "", prefix[80];
        sscanf(args, "%63s", cmdword);
        int known = 0;
        for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) known |= !strcmp(cmdword, commands[i]);
        if (known) snprintf(prefix, sizeof prefix, "onestone %s: ", cmdword);
        else snprintf(prefix, sizeof prefix, "onestone: ");
        size_t n = strlen(se);
        CHECK_MSG(n > 0 && se[n - 1] == '\n', "cases.tsv:%d: stderr does not end in a newline: '%s'", line, se);
        if (n) se[n - 1] = 0;
        char *last = strrchr(se, '\n');
        last = last ? last + 1 : se;
        CHECK_MSG(!strncmp(last, prefix, strlen(prefix)), "cases.tsv:%d: last stderr line lacks '%s': '%s'", line,
                  prefix, last);
        CHECK_MSG(strstr(last, needle) != NULL, "cases.tsv:%d: error line lacks '%s': '%s'", line, needle, last);
        // Exactly one error line: no earlier line is an "onestone ..." message.
        for (char *p = se; p < last; p = strchr(p, '\n') + 1)
            CHECK_MSG(strncmp(p, "onestone", 8), "cases.tsv:%d: more than one error line: %s", line, se);
    }
    free(so);
    free(se);
}

static void test_cases(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/cases.tsv", bad);
    char *table = slurp(path);
    CHECK_MSG(*table, "cannot read %s", path);
    int line = 0, n = 0;
    for (char *p = table, *next; *p; p = next) {
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = 0;
        line++;
        if (!*p || *p == '#') continue;
        char *t1 = strchr(p, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        CHECK_MSG(t2 != NULL, "cases.tsv:%d: needs EXIT<TAB>SUBSTRING<TAB>ARGUMENTS", line);
        if (!t2) continue;
        *t1 = *t2 = 0;
        run_case(line, atoi(p), t1 + 1, t2 + 1);
        n++;
    }
    printf("  %d cases\n", n);
    CHECK(n >= 30);
    free(table);
}

int main(void) {
    bin = getenv("ONESTONE_BIN");
    const char *src = getenv("ONESTONE_SRC");
    if (!bin || !src) {
        fprintf(stderr, "ONESTONE_BIN and ONESTONE_SRC must be set (ctest sets them)\n");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "%s/bad_inputs", th_tmpdir());
    snprintf(bad, sizeof bad, "%s/tests/bad", src);
    mkdir(th_tmpdir(), 0777);
    setenv("ONESTONE_BAD", bad, 1);
    setenv("BAD_TMP", tmp, 1);
    int ok = setup();
    CHECK_MSG(ok, "setup failed: %s", os_last_error());
    if (ok) RUN(test_cases);
    return th_finish();
}
