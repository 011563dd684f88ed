#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/param_groups.h"

long os_unfreeze_released(const os_train_config *c, long step, long epoch_steps) {
    long every = c->unfreeze_every_steps > 0 ? c->unfreeze_every_steps : c->unfreeze_every_epochs * epoch_steps;
    return every > 0 ? step / every : -1;
}

static int layer_of(const char *name) {
    const char *p = strstr(name, "encoder.layer.");
    return p ? atoi(p + strlen("encoder.layer.")) : -1;
}

static int layer_frozen(const os_train_config *c, int l, int L, long released) {
    return l < c->freeze_layers || c->freeze_encoder || (released >= 0 && l < L - released);
}

// With keep_init_tasks, heads of tasks this run does not train (kept from model.init) are frozen, so even
// weight decay leaves them alone: a configured task's tensors are "heads.<task>.*".
static int kept_head(const os_train_config *c, const char *name) {
    if (!c->keep_init_tasks) return 0;
    for (int t = 0; t < c->n_tasks; t++) {
        size_t n = strlen(c->tasks[t].name);
        if (!strncmp(name, "heads.", 6) && !strncmp(name + 6, c->tasks[t].name, n) && name[6 + n] == '.') return 0;
    }
    return 1;
}

int os_param_groups_setup(os_params *p, const os_train_config *c, int num_layers, long released) {
    const int L = num_layers;
    int emb_frozen = c->freeze_embeddings || c->freeze_layers > 0 || c->freeze_encoder || (released >= 0 && released <= L);
    for (int i = 0; i < p->n; i++) {
        os_param_entry *e = &p->entries[i];
        int is_head = strncmp(e->name, "bert.", 5) != 0;
        int layer = layer_of(e->name), is_emb = strstr(e->name, "bert.embeddings.") != NULL;
        e->lr_scale = 1.0f;
        if (is_head && c->head_lr > 0) e->lr_scale = (float)(c->head_lr / c->opt.lr);
        // Layer-wise decay (ELECTRA/HF style): the top layer (and pooler, heads) at lr, each layer below one
        // factor lower, embeddings lowest.
        if (!is_head && c->layer_lr_decay < 1) {
            int depth = is_emb ? L + 1 : layer >= 0 ? L - layer : 0;
            e->lr_scale = (float)pow(c->layer_lr_decay, depth);
        }
        if (is_head) e->frozen = (uint8_t)kept_head(c, e->name);
        else if (is_emb) e->frozen = (uint8_t)emb_frozen;
        else if (layer >= 0) e->frozen = (uint8_t)layer_frozen(c, layer, L, released);
        else e->frozen = (uint8_t)c->freeze_encoder;  // the pooler
    }
    int frozen_below = 0;
    if (emb_frozen) {
        frozen_below = 1;
        for (int l = 0; l < L && layer_frozen(c, l, L, released); l++) frozen_below = l + 2;
    }
    return frozen_below;
}
