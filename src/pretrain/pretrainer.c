#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/checkpoint.h"
#include "pretrain/corpus.h"
#include "pretrain/masking.h"
#include "pretrain/mlm_model.h"
#include "pretrain/pretrainer.h"
#include "train/param_groups.h"
#include "train/train_state.h"
#include "util/fileio.h"
#include "util/rng.h"

typedef struct {
    os_pretrain_config *pc;
    const os_train_config *c;
    const os_pretrain_opts *o;
    os_tokenizer *tok;
    os_mlm_model model;
    os_masker masker;
    os_block_file train, dev;
    int have_dev, L;
    long B;
    size_t batches_per_epoch;  // micro-batches: ceil(blocks / batch_size)
    size_t *perm;              // block order of epoch perm_epoch
    long perm_epoch;
    int32_t *ids, *labels, *rows, *targets;  // (B*L) batch buffers
    os_optimizer opt;
    long step, total_steps, epoch_steps, eval_every, save_every;
    char *dir_model, *dir_ckpt;
    FILE *metrics;
    // logging window
    double loss_sum, window_start, run_start;
    long loss_n, correct, masked, window_tokens, window_steps;
    double last_dev_loss, last_dev_acc;
} pretrainer;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// A seed for one purpose (salt) and two indices: splitmix-style mixing of the run seed.
static uint64_t seed_for(uint64_t seed, uint64_t salt, uint64_t a, uint64_t b) {
    uint64_t z = seed ^ (salt * 0x9e3779b97f4a7c15ULL);
    z = (z ^ (a + 0x632be59bd9b4e019ULL + (z << 6) + (z >> 2))) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (b + 0x94d049bb133111ebULL + (z << 6) + (z >> 2))) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
enum { SALT_ORDER = 1, SALT_MASK = 2, SALT_DROPOUT = 3, SALT_DEV = 4, SALT_INIT = 5 };

static void log_event(pretrainer *p, json_t *ev) { os_metrics_append(p->metrics, ev); }

// ---- data -------------------------------------------------------------------------------------------

static os_status open_blocks(pretrainer *p, char *const *files, int n, const char *name, os_block_file *bf) {
    char *path = os_path_join(p->o->run_dir, name);
    os_status st = OS_ERR_IO;
    if (p->o->resume && os_path_exists(path)) st = os_block_file_open(bf, path, p->L);  // packing is deterministic
    if (st) {
        os_corpus_options co = {(size_t)p->pc->chunk_bytes, 0};
        os_corpus_stats cs;
        double t0 = now();
        st = os_corpus_pack(p->tok, files, n, p->L, &co, path, &cs);
        if (!st) {
            fprintf(stderr, "data %s: %d file(s), %zu lines -> %zu blocks of %d tokens (%zu tokens dropped at the end), "
                            "%.1f s\n", name, n, cs.n_lines, cs.n_blocks, p->L, cs.dropped_tokens, now() - t0);
            st = os_block_file_open(bf, path, p->L);
        }
    }
    if (!st && bf->n_blocks == 0)
        st = os_fail(OS_ERR_INPUT, "%s: the %s text gives no full block of %d tokens (more text or a smaller "
                                   "model.max_seq_length)", p->c->file, name, p->L);
    free(path);
    return st;
}

static os_status epoch_order(pretrainer *p, long epoch) {
    if (p->perm && p->perm_epoch == epoch) return OS_OK;
    const size_t n = p->train.n_blocks;
    if (!p->perm && !(p->perm = malloc(n * sizeof *p->perm))) return os_fail(OS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) p->perm[i] = i;
    os_rng r;
    os_rng_seed(&r, seed_for((uint64_t)p->c->seed, SALT_ORDER, (uint64_t)epoch, 0));
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)os_rng_below(&r, i), tmp = p->perm[i - 1];
        p->perm[i - 1] = p->perm[j];
        p->perm[j] = tmp;
    }
    p->perm_epoch = epoch;
    return OS_OK;
}

// Reads and masks `nb` blocks into the batch buffers; *M gets the number of masked positions.
static os_status load_batch(pretrainer *p, os_block_file *bf, const size_t *blocks, int nb, uint64_t salt,
                            long epoch, int *M) {
    const int L = p->L;
    int m = 0;
    for (int b = 0; b < nb; b++) {
        int32_t *ids = p->ids + (size_t)b * L, *lab = p->labels + (size_t)b * L;
        os_status st = os_block_file_read(bf, blocks[b], ids);
        if (st) return st;
        os_masker_apply(&p->masker, ids, lab, L, seed_for((uint64_t)p->c->seed, salt, (uint64_t)epoch, blocks[b]));
        for (int i = 0; i < L; i++)
            if (lab[i] != -100) {
                p->rows[m] = b * L + i;
                p->targets[m++] = lab[i];
            }
    }
    *M = m;
    return OS_OK;
}

// ---- model ------------------------------------------------------------------------------------------

static os_status build_model(pretrainer *p) {
    const os_train_config *c = p->c;
    os_bert_config enc = c->encoder;
    if (c->init) {  // the encoder's shape comes from the checkpoint, dropout from the config
        char *cfg_path = os_path_join(c->init, "config.json");
        os_status st = os_bert_config_load(&enc, cfg_path);
        free(cfg_path);
        if (st) return st;
        enc.hidden_dropout_prob = c->encoder.hidden_dropout_prob;
        enc.attention_probs_dropout_prob = c->encoder.attention_probs_dropout_prob;
    }
    int vs = os_tokenizer_vocab_size(p->tok);
    if (vs > enc.vocab_size || !c->init) enc.vocab_size = vs;
    os_special_ids sp = os_tokenizer_special_ids(p->tok);
    enc.pad_token_id = sp.pad >= 0 ? sp.pad : 0;
    if (p->L > enc.max_position_embeddings)
        return os_fail(OS_ERR_INPUT, "%s: model.max_seq_length (%d) exceeds the encoder's max_position_embeddings (%d)",
                       c->file, p->L, enc.max_position_embeddings);
    os_status st = os_mlm_model_create(&p->model, &enc);
    if (st) return st;
    os_mlm_model_init_weights(&p->model, seed_for((uint64_t)c->seed, SALT_INIT, 0, 0));
    if (c->init) {
        int n = 0;
        st = os_mlm_model_init_from(&p->model, c->init, &n);
        if (!st) fprintf(stderr, "init: %d of %d tensors loaded from %s\n", n, p->model.base.params.n, c->init);
    }
    return st;
}

static os_status save_model_dir(pretrainer *p) {
    json_t *meta = json_pack("{s:{s:I, s:I}}", "pretraining", "step", (json_int_t)p->step, "max_seq_length",
                             (json_int_t)p->L);
    os_status st = os_model_dir_write(p->dir_model, &p->model.base, p->tok, meta);
    json_decref(meta);
    return st;
}

static os_status save_checkpoint(pretrainer *p) {
    json_t *s = json_pack("{s:I, s:I, s:I}", "step", (json_int_t)p->step, "optimizer_step", (json_int_t)p->opt.step,
                          "metrics_bytes", (json_int_t)(p->metrics ? ftell(p->metrics) : 0));
    os_status st = os_checkpoint_write(p->dir_ckpt, &p->model.base, &p->opt, s, NULL, NULL);
    json_decref(s);
    return st;
}

static os_status load_checkpoint(pretrainer *p) {
    json_t *s = NULL;
    os_status st = os_checkpoint_read(p->dir_ckpt, &p->model.base.params, &p->opt, &s);
    if (!st) {
        p->step = (long)json_integer_value(json_object_get(s, "step"));
        p->opt.step = (long)json_integer_value(json_object_get(s, "optimizer_step"));
        long bytes = (long)json_integer_value(json_object_get(s, "metrics_bytes"));
        // Log lines written after the checkpoint will be written again.
        if (bytes > 0 && p->metrics && ftruncate(fileno(p->metrics), bytes) == 0) fseek(p->metrics, bytes, SEEK_SET);
    }
    json_decref(s);
    return st;
}

// ---- evaluation -------------------------------------------------------------------------------------

static os_status evaluate(pretrainer *p) {
    size_t n = p->dev.n_blocks < (size_t)p->pc->dev_max_blocks ? p->dev.n_blocks : (size_t)p->pc->dev_max_blocks;
    size_t *blocks = malloc((size_t)p->B * sizeof *blocks);
    if (!blocks) return os_fail(OS_ERR_NOMEM, "out of memory");
    double loss_sum = 0;
    long correct = 0, masked = 0;
    os_status st = OS_OK;
    for (size_t start = 0; start < n && !st; start += (size_t)p->B) {
        int nb = (int)(n - start < (size_t)p->B ? n - start : (size_t)p->B), M = 0, hits = 0;
        for (int b = 0; b < nb; b++) blocks[b] = start + (size_t)b;
        st = load_batch(p, &p->dev, blocks, nb, SALT_DEV, 0, &M);  // a fixed masking: comparable evaluations
        if (st || M == 0) continue;
        st = os_mlm_model_forward(&p->model, p->ids, NULL, nb, p->L, p->rows, M, 0, 0);
        if (st) break;
        loss_sum += (double)os_mlm_head_loss(&p->model.mlm, p->targets, 0, &hits) * M;
        correct += hits;
        masked += M;
    }
    free(blocks);
    if (st) return st;
    p->last_dev_loss = masked ? loss_sum / masked : NAN;
    p->last_dev_acc = masked ? (double)correct / masked : NAN;
    json_t *ev = json_pack("{s:s, s:I, s:f, s:{s:{s:f, s:f, s:f, s:I}}}", "event", "eval", "step", (json_int_t)p->step,
                           "epoch", (double)p->step / (double)p->epoch_steps, "dev", "mlm", "loss", p->last_dev_loss,
                           "accuracy", p->last_dev_acc, "perplexity", exp(p->last_dev_loss), "masked_tokens",
                           (json_int_t)masked);
    log_event(p, ev);
    if (!p->o->quiet)
        fprintf(stderr, "%seval step %ld: dev mlm loss %.4f | accuracy %.4f | perplexity %.1f\n", isatty(2) ? "\r\033[K" : "",
                p->step, p->last_dev_loss, p->last_dev_acc, exp(p->last_dev_loss));
    return OS_OK;
}

// ---- progress ---------------------------------------------------------------------------------------

static void log_window(pretrainer *p, float lr, double grad_norm) {
    double elapsed = now() - p->window_start, tps = elapsed > 0 ? p->window_tokens / elapsed : 0;
    double loss = p->loss_n ? p->loss_sum / p->loss_n : NAN, acc = p->masked ? (double)p->correct / p->masked : NAN;
    json_t *ev = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:{s:f}, s:{s:f}, s:I}", "event", "train", "step",
                           (json_int_t)p->step, "epoch", (double)p->step / (double)p->epoch_steps, "lr", (double)lr,
                           "grad_norm", grad_norm, "tokens_per_s", tps, "loss", "mlm", loss, "accuracy", "mlm", acc,
                           "masked_tokens", (json_int_t)p->masked);
    if (!p->o->quiet) {
        double done = (double)p->step / p->total_steps, spent = now() - p->run_start;
        double eta = done > 0 ? spent * (1 - done) / done : 0;
        fprintf(stderr, "%sstep %ld/%ld epoch %.2f | mlm %.4f | accuracy %.4f | %.0f tok/s | ETA %ld:%02ld%s",
                isatty(2) ? "\r\033[K" : "", p->step, p->total_steps, (double)p->step / p->epoch_steps, loss, acc, tps,
                (long)eta / 60, (long)eta % 60, isatty(2) ? "" : "\n");
        fflush(stderr);
    }
    log_event(p, ev);
    p->loss_sum = 0;
    p->loss_n = p->correct = p->masked = p->window_tokens = p->window_steps = 0;
    p->window_start = now();
}

static os_status write_summary(pretrainer *p) {
    json_t *s = json_pack("{s:I, s:f, s:I, s:I, s:f}", "steps", (json_int_t)p->step, "epochs",
                          (double)p->step / (double)p->epoch_steps, "epoch_steps", (json_int_t)p->epoch_steps,
                          "train_blocks", (json_int_t)p->train.n_blocks, "seconds", now() - p->run_start);
    if (p->have_dev) {
        json_object_set_new(s, "dev_mlm_loss", json_real(p->last_dev_loss));
        json_object_set_new(s, "dev_mlm_accuracy", json_real(p->last_dev_acc));
    }
    char *text = json_dumps(s, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
    char *path = os_path_join(p->o->run_dir, "summary.json");
    os_status st = os_write_file_atomic(path, text, strlen(text));
    free(path);
    free(text);
    json_decref(s);
    return st;
}

// ---- the loop ---------------------------------------------------------------------------------------

// One forward/backward on micro-batch g (a global index: epoch g / batches_per_epoch).
static os_status micro_step(pretrainer *p, long g, uint64_t dropout_seed) {
    long epoch = g / (long)p->batches_per_epoch;
    size_t b = (size_t)(g % (long)p->batches_per_epoch), start = b * (size_t)p->B;
    os_status st = epoch_order(p, epoch);
    if (st) return st;
    int nb = (int)(p->train.n_blocks - start < (size_t)p->B ? p->train.n_blocks - start : (size_t)p->B), M = 0;
    st = load_batch(p, &p->train, p->perm + start, nb, SALT_MASK, epoch, &M);
    p->window_tokens += (long)nb * p->L;
    if (st || M == 0) return st;
    st = os_mlm_model_forward(&p->model, p->ids, NULL, nb, p->L, p->rows, M, 1, dropout_seed);
    if (st) return st;
    int hits = 0;
    float loss = os_mlm_head_loss(&p->model.mlm, p->targets, 1.0f, &hits);
    if (!isfinite(loss))
        return os_fail(OS_ERR_NUMERIC, "step %ld: the MLM loss is not finite (%g); lower the learning rate", p->step + 1, loss);
    os_mlm_model_backward(&p->model, p->rows);
    p->loss_sum += loss;
    p->loss_n++;
    p->correct += hits;
    p->masked += M;
    return OS_OK;
}

static os_status setup(pretrainer *p) {
    const os_train_config *c = p->c;
    const os_pretrain_opts *o = p->o;
    os_tokenizer_options to = os_tokenizer_options_default();
    to.lowercase = c->lowercase;
    os_status st = os_tokenizer_load(c->init ? c->init : c->vocab, &to, &p->tok);
    if (!st) st = os_masker_init(&p->masker, p->tok, (float)p->pc->mask_prob, (float)p->pc->mask_frac,
                                 (float)p->pc->random_frac, p->pc->whole_word);
    if (!st) st = open_blocks(p, p->pc->train_files, p->pc->n_train, "train.blocks", &p->train);
    if (!st && p->pc->n_dev) {
        st = open_blocks(p, p->pc->dev_files, p->pc->n_dev, "dev.blocks", &p->dev);
        p->have_dev = !st;
    }
    if (!st) st = build_model(p);
    if (st) return st;
    const size_t BL = (size_t)p->B * p->L;
    p->ids = malloc(BL * sizeof(int32_t));
    p->labels = malloc(BL * sizeof(int32_t));
    p->rows = malloc(BL * sizeof(int32_t));
    p->targets = malloc(BL * sizeof(int32_t));
    if (!p->ids || !p->labels || !p->rows || !p->targets) return os_fail(OS_ERR_NOMEM, "out of memory");
    p->batches_per_epoch = (p->train.n_blocks + (size_t)p->B - 1) / (size_t)p->B;
    p->epoch_steps = (long)p->batches_per_epoch / c->grad_accumulation;
    if (p->epoch_steps < 1) p->epoch_steps = 1;
    p->total_steps = c->max_steps > 0 ? c->max_steps : c->epochs * p->epoch_steps;
    p->eval_every = c->eval_every > 0 ? c->eval_every : p->epoch_steps;
    p->save_every = c->save_every > 0 ? c->save_every : p->eval_every;
    os_param_groups_setup(&p->model.base.params, c, p->model.base.cfg.num_hidden_layers, -1);  // layer_lr_decay
    st = os_optimizer_init(&p->opt, &c->opt, &p->model.base.params);
    if (!st && o->resume) st = load_checkpoint(p);
    return st;
}

os_status os_pretrain(os_pretrain_config *pc, const os_pretrain_opts *o) {
    pretrainer p = {0};
    p.pc = pc;
    p.c = &pc->base;
    p.o = o;
    p.L = (int)pc->base.max_seq_length;
    p.B = pc->base.batch_size;
    const os_train_config *c = p.c;
    os_status st = os_mkdirs(o->run_dir);
    if (st) return st;
    p.dir_model = os_path_join(o->run_dir, "model");
    p.dir_ckpt = os_path_join(o->run_dir, "checkpoint");
    char *metrics_path = os_path_join(o->run_dir, "metrics.jsonl");
    if (!o->resume) {
        char *cfg_path = os_path_join(o->run_dir, "config.json");
        char *text = json_dumps(c->root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        st = os_write_file_atomic(cfg_path, text, strlen(text));
        free(text);
        free(cfg_path);
    } else if (!os_path_exists(p.dir_ckpt)) {
        st = os_fail(OS_ERR_INPUT, "%s: no checkpoint to resume from (run without --resume to start)", p.dir_ckpt);
    }
    if (!st) {
        p.metrics = fopen(metrics_path, o->resume ? "r+" : "w");
        if (p.metrics && o->resume) fseek(p.metrics, 0, SEEK_END);
        if (!p.metrics) st = os_fail(OS_ERR_IO, "%s: cannot open for writing", metrics_path);
    }
    if (!st) st = setup(&p);
    if (st) goto done;

    os_schedule sched = c->schedule;
    sched.total_steps = p.total_steps;
    long ratio_warmup = (long)ceil(c->warmup_ratio * (double)p.total_steps);
    if (ratio_warmup > sched.warmup_steps) sched.warmup_steps = ratio_warmup;
    long stop_at = o->max_steps > 0 && o->max_steps < p.total_steps ? o->max_steps : p.total_steps;
    fprintf(stderr, "pretraining %ld steps (epoch = %ld steps over %zu blocks of %d tokens), batch %ld x %ld accumulation, "
                    "%.0f %% masked%s%s\n", p.total_steps, p.epoch_steps, p.train.n_blocks, p.L, p.B, c->grad_accumulation,
            100 * pc->mask_prob, pc->whole_word ? " (whole words)" : "", o->resume ? " (resumed)" : "");
    log_event(&p, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "event", o->resume ? "resume" : "start", "step",
                            (json_int_t)p.step, "total_steps", (json_int_t)p.total_steps, "epoch_steps",
                            (json_int_t)p.epoch_steps, "train_blocks", (json_int_t)p.train.n_blocks, "block_tokens",
                            (json_int_t)p.L));

    p.run_start = p.window_start = now();
    float lr = 0;
    double grad_norm = 0;
    os_params *prm = &p.model.base.params;
    while (!st && p.step < stop_at) {
        os_params_zero_grad(prm);
        for (long micro = 0; micro < c->grad_accumulation && !st; micro++)
            st = micro_step(&p, p.step * c->grad_accumulation + micro,
                            seed_for((uint64_t)c->seed, SALT_DROPOUT, (uint64_t)p.step, (uint64_t)micro));
        if (st) break;
        if (c->grad_accumulation > 1) os_params_scale_grad(prm, 1.0f / (float)c->grad_accumulation);
        grad_norm = os_params_grad_norm(prm);
        if (!isfinite(grad_norm)) {
            st = os_fail(OS_ERR_NUMERIC, "step %ld: the gradient is not finite; lower the learning rate", p.step + 1);
            break;
        }
        float clip = 1.0f;  // torch: coef = max / (norm + 1e-6), applied by the optimizer as it reads
        if (c->max_grad_norm > 0 && grad_norm > c->max_grad_norm) clip = (float)(c->max_grad_norm / (grad_norm + 1e-6));
        lr = c->opt.lr * os_schedule_factor(&sched, p.step);
        os_optimizer_step_scaled(&p.opt, prm, lr, clip);
        p.step++;
        p.window_steps++;
        if (p.step % c->log_every == 0) log_window(&p, lr, grad_norm);
        if (p.have_dev && (p.step % p.eval_every == 0 || p.step == stop_at)) st = evaluate(&p);
        if (!st && (p.step % p.save_every == 0 || p.step == stop_at)) {
            st = save_checkpoint(&p);
            if (!st) st = save_model_dir(&p);
        }
    }
    if (!st) {
        if (p.window_steps) log_window(&p, lr, grad_norm);
        log_event(&p, json_pack("{s:s, s:I}", "event", "end", "step", (json_int_t)p.step));
        if (!o->quiet && isatty(2)) fprintf(stderr, "\n");
        st = write_summary(&p);
    }
done:
    if (p.metrics) fclose(p.metrics);
    os_optimizer_free(&p.opt);
    os_mlm_model_free(&p.model);
    os_masker_free(&p.masker);
    os_block_file_close(&p.train);
    os_block_file_close(&p.dev);
    os_tokenizer_free(p.tok);
    free(p.perm);
    free(p.ids);
    free(p.labels);
    free(p.rows);
    free(p.targets);
    free(p.dir_model);
    free(p.dir_ckpt);
    free(metrics_path);
    return st;
}
