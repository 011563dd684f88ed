#include <stdlib.h>
#include <string.h>

#include "pretrain/masking.h"
#include "util/rng.h"

os_status os_masker_init(os_masker *m, const os_tokenizer *tok, float prob, float mask_frac, float random_frac,
                         int whole_word) {
    memset(m, 0, sizeof *m);
    os_special_ids sp = os_tokenizer_special_ids(tok);
    if (sp.mask < 0) return os_fail(OS_ERR_INPUT, "the vocabulary has no [MASK] token (masked-LM pretraining needs one)");
    m->prob = prob;
    m->mask_frac = mask_frac;
    m->random_frac = random_frac;
    m->whole_word = whole_word;
    m->mask_id = sp.mask;
    m->vocab_size = os_tokenizer_vocab_size(tok);
    m->special = os_calloc((size_t)m->vocab_size, 1);
    m->continuation = os_calloc((size_t)m->vocab_size, 1);
    if (!m->special || !m->continuation) {
        os_masker_free(m);
        return OS_ERR_NOMEM;
    }
    const int32_t specials[] = {sp.cls, sp.sep, sp.pad};
    for (int i = 0; i < 3; i++)
        if (specials[i] >= 0) m->special[specials[i]] = 1;
    for (int32_t id = 0; id < m->vocab_size; id++) {
        const char *t = os_tokenizer_id_to_token(tok, id);
        m->continuation[id] = t && t[0] == '#' && t[1] == '#' && t[2];
    }
    return OS_OK;
}

void os_masker_free(os_masker *m) {
    free(m->special);
    free(m->continuation);
    memset(m, 0, sizeof *m);
}

int os_masker_apply(const os_masker *m, int32_t *ids, int32_t *labels, int n, uint64_t seed) {
    os_rng r;
    os_rng_seed(&r, seed);
    const float keep_random = m->mask_frac < 1 ? m->random_frac / (1 - m->mask_frac) : 0;
    int selected = 0, word_selected = 0;
    for (int i = 0; i < n; i++) {
        const int32_t id = ids[i];
        labels[i] = -100;
        if (id < 0 || id >= m->vocab_size || m->special[id]) {
            word_selected = 0;
            continue;
        }
        // Whole words draw once, at their first piece; the "##" pieces after it follow that draw.
        int sel;
        if (m->whole_word && m->continuation[id] && i > 0) sel = word_selected;
        else sel = os_rng_uniform(&r) < m->prob;
        word_selected = sel;
        if (!sel) continue;
        selected++;
        labels[i] = id;
        float u = os_rng_uniform(&r);
        if (u < m->mask_frac) ids[i] = m->mask_id;
        else if (os_rng_uniform(&r) < keep_random) ids[i] = (int32_t)os_rng_below(&r, (uint64_t)m->vocab_size);
    }
    return selected;
}
