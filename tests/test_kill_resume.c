// Crash safety of training: a tiny run is killed with SIGKILL at seeded random moments and resumed with
// `train --resume` each time (restarted from scratch while no checkpoint exists yet) until it completes.
// After every kill each file under RUN/best and RUN/checkpoint either loads or is absent (atomic writes and
// directory swaps: no half-written file is ever visible), and the final checkpoint's model.safetensors and
// optimizer.safetensors, and best/model.safetensors, are byte-identical to an uninterrupted run.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <jansson.h>

#ifdef ONESTONE_SANITIZE
#define KILLS 3
#else
#define KILLS 6
#endif

static char dir[512];
static const char *bin;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void write_inputs(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\nthe\nmovie\nfilm\nis\nwas\ngood\ngreat\nbad\nawful\n");
    fclose(f);
    static const char *const a[] = {"the movie", "the film"}, *const b[] = {"is", "was"};
    static const char *const pos[] = {"good", "great"}, *const neg[] = {"bad", "awful"};
    os_rng r;
    os_rng_seed(&r, 11);
    snprintf(path, sizeof path, "%s/train.tsv", dir);
    f = fopen(path, "w");
    fprintf(f, "sentence\tlabel\n");
    for (int i = 0; i < 64; i++) {
        int p = (int)os_rng_below(&r, 2);
        // One draw per declaration, in order (a call's arguments are evaluated in an unspecified order).
        const char *w1 = a[os_rng_below(&r, 2)], *w2 = b[os_rng_below(&r, 2)];
        const char *w3 = p ? pos[os_rng_below(&r, 2)] : neg[os_rng_below(&r, 2)];
        fprintf(f, "%s %s %s .\t%s\n", w1, w2, w3, p ? "positive" : "negative");
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    fprintf(f,
            "{\"seed\": 5,\n"
            " \"model\": {\"vocab\": \"%s/vocab.txt\", \"max_seq_length\": 12,\n"
            "   \"encoder\": {\"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,\n"
            "                \"intermediate_size\": 32, \"max_position_embeddings\": 16}},\n"
            " \"tasks\": [{\"name\": \"sentiment\", \"type\": \"sequence_classification\",\n"
            "   \"data\": {\"format\": \"tsv\", \"train\": \"%s/train.tsv\", \"dev_fraction\": 0.25}}],\n"
            " \"training\": {\"batch_size\": 4, \"epochs\": %d, \"eval_every\": 7, \"save_every\": 3,\n"
            "              \"log_every\": 5},\n"
            " \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.01}}\n",
            dir, dir,
#ifdef ONESTONE_SANITIZE
            8
#else
            64
#endif
    );
    fclose(f);
}

// Starts `onestone ARGS...` (output discarded); returns its pid.
static pid_t start(const char *const *args) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        null = freopen("/dev/null", "w", stderr);
        (void)null;
        char *argv[16];
        int n = 0;
        argv[n++] = (char *)bin;
        for (; args[n - 1]; n++) argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

// Every file of RUN/best and RUN/checkpoint loads or is absent.
static void check_visible_files(const char *run, int kill_no) {
    static const char *const sub[] = {"best", "checkpoint"};
    char path[800];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", run, sub[i]);
        if (!exists(path)) continue;
        snprintf(path, sizeof path, "%s/%s/model.safetensors", run, sub[i]);
        if (exists(path)) {
            snprintf(path, sizeof path, "%s/%s", run, sub[i]);
            os_model m;
            os_status st = os_model_load(&m, path);
            CHECK_MSG(st == OS_OK, "after kill %d: %s/%s does not load: %s", kill_no, run, sub[i], os_last_error());
            if (st == OS_OK) os_model_free(&m);
        }
        snprintf(path, sizeof path, "%s/%s/optimizer.safetensors", run, sub[i]);
        if (exists(path)) {
            os_safetensors s;
            os_status st = os_st_open(&s, path);
            CHECK_MSG(st == OS_OK, "after kill %d: %s: %s", kill_no, path, os_last_error());
            os_st_close(&s);
        }
        static const char *const json[] = {"state.json", "config.json", "tokenizer.json"};
        for (int j = 0; j < 3; j++) {
            snprintf(path, sizeof path, "%s/%s/%s", run, sub[i], json[j]);
            if (!exists(path)) continue;
            json_error_t je;
            json_t *v = json_load_file(path, 0, &je);
            CHECK_MSG(v != NULL, "after kill %d: %s: %s", kill_no, path, je.text);
            json_decref(v);
        }
    }
}

static int same_file(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (os_read_file(a, &x, &nx)) return 0;
    if (os_read_file(b, &y, &ny)) {
        free(x);
        return 0;
    }
    int same = nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

static void test_kill_and_resume(void) {
    char config[700], ref[700], run[700], cmd[2200], state[800];
    snprintf(config, sizeof config, "%s/config.json", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(state, sizeof state, "%s/checkpoint/state.json", run);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", ref, run);
    CHECK(system(cmd) == 0);

    const char *fresh_ref[] = {"train", config, "--out", ref, "--quiet", NULL};
    double t0 = now();
    int rc = wait_exit(start(fresh_ref));
    double ref_seconds = now() - t0;
    CHECK_MSG(rc == 0, "uninterrupted run exited %d", rc);
    if (rc) return;
    printf("  uninterrupted run: %.2f s\n", ref_seconds);

    const char *fresh[] = {"train", config, "--out", run, "--quiet", NULL};
    const char *resume[] = {"train", "--resume", "--out", run, "--quiet", NULL};
    os_rng r;
    os_rng_seed(&r, 2026);
    int kills = 0, resumes = 0, restarts = 0, done = 0;
    for (int attempt = 0; attempt < 40 && !done; attempt++) {
        int resuming = exists(state);
        if (!resuming) {
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", run);
            CHECK(system(cmd) == 0);
        }
        resumes += resuming;
        restarts += !resuming && attempt > 0;
        pid_t pid = start(resuming ? resume : fresh);
        if (kills >= KILLS) {
            rc = wait_exit(pid);
            CHECK_MSG(rc == 0, "the last %s exited %d", resuming ? "resume" : "run", rc);
            done = 1;
            break;
        }
        // The first kill comes almost at once (before any checkpoint: a restart from scratch), the others
        // at random moments within the first 40% of a whole run's time (so that several kills land).
        double delay = attempt == 0 ? 0.002 : ref_seconds * (0.02 + 0.38 * os_rng_uniform(&r));
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        rc = wait_exit(pid);
        if (rc == 0) {  // finished before the kill
            done = 1;
            break;
        }
        CHECK_MSG(rc == 128 + SIGKILL, "a killed run exited %d", rc);
        kills++;
        check_visible_files(run, kills);
    }
    printf("  %d kills, %d resumes, %d restarts from scratch\n", kills, resumes, restarts);
    CHECK(done);
    CHECK(kills >= 1);
    static const char *const files[] = {"checkpoint/model.safetensors", "checkpoint/optimizer.safetensors",
                                         "best/model.safetensors"};
    for (int i = 0; i < 3; i++) {
        char a[900], b[900];
        snprintf(a, sizeof a, "%s/%s", ref, files[i]);
        snprintf(b, sizeof b, "%s/%s", run, files[i]);
        CHECK_MSG(same_file(a, b), "%s differs from the uninterrupted run's", files[i]);
    }
}

int main(void) {
    bin = getenv("ONESTONE_BIN");
    if (!bin) {
        fprintf(stderr, "ONESTONE_BIN must be set (ctest sets it)\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/kill_resume", th_tmpdir());
    mkdir(th_tmpdir(), 0777);
    mkdir(dir, 0777);
    write_inputs();
    RUN(test_kill_and_resume);
    return th_finish();
}
