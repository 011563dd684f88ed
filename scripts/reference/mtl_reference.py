#!/usr/bin/python3
"""PyTorch reference of onestone's multi-task fine-tuning recipe (docs/reference.md).

Plain PyTorch (1.13) + numpy, no transformers package. It trains on what `onestone export-data` wrote (the
encoded examples exactly as onestone's trainer builds them) from the model directory `export-data
--init-model` wrote (the same initial weights), with the recipe of the resolved config.json:
  - BERT (HF's modules and names) and onestone's heads: [CLS] pooled vector (sequence classification),
    the two entity-start marker vectors side by side (relations), every piece (token classification) with an
    optional linear-chain CRF over each word's first piece (pytorch-crf semantics, token_mean reduction,
    scheme constraints as -inf scores, float64 recursions);
  - one dataset per optimizer step, drawn by this script's own seeded sampler (temperature, proportional or
    uniform), or replayed from onestone's batch trace (--replay, training.trace_file);
  - loss sum_i w_i L_i over the step's tasks, w_i the static loss weights or uncertainty weighting (UW:
    w_i = exp(-s_i) / 2, s_i trained by its own Adam step at the scheduled learning rate);
  - torch.optim.AdamW with no weight decay on biases, LayerNorm and CRF parameters, head_lr for the heads,
    linear / cosine / constant schedule with warmup, gradient clipping by the global norm;
  - evaluation every eval_every steps: conlleval entity F1 (Viterbi decoding with a CRF), the official
    SemEval-2010 Task 8 macro-F1, accuracy; the best evaluation by the mean of the main metrics.
Configuration features it does not implement are refused with one line naming the field.

usage: /usr/bin/python3 scripts/reference/mtl_reference.py EXPORT_DIR --model INIT_DIR [--config CONFIG.json]
           [--replay TRACE] [--seed N] [--threads N] [--max-steps N] [--out RESULT.json] [--quiet]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ next to the imported tests/ref modules
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "ref"))
from bert_modules import Bert  # noqa: E402  (the one BERT of the PyTorch references)
from crf_golden import scheme_masks  # noqa: E402  (the constraint rules of docs/crf.md, written independently)
from metrics_ref import get_entities, prf, semeval_official  # noqa: E402
from safetensors_ref import load as load_safetensors  # noqa: E402

IGNORE = -100


def refuse(field, why):
    sys.exit("mtl_reference: unsupported configuration: %s: %s" % (field, why))


# ---------------------------------------------------------------- the recipe, from onestone's resolved config

def read_recipe(cfg):
    """The settings this reference implements; anything else set to a non-default value is refused."""
    g = lambda path, default=None: _get(cfg, path, default)
    if "distill" in cfg:
        refuse("distill", "distillation is not part of the reference")
    checks = [("model.reinit_layers", 0), ("model.keep_init_tasks", False), ("optimizer.layer_lr_decay", 1.0),
              ("optimizer.freeze_embeddings", False), ("optimizer.freeze_layers", 0),
              ("optimizer.freeze_encoder", False), ("optimizer.gradual_unfreezing.every_steps", 0),
              ("optimizer.gradual_unfreezing.every_epochs", 0), ("weighting.grads", "params"),
              ("weighting.affinity_every", 0), ("training.on_nonfinite", "stop")]
    for path, want in checks:
        if g(path, want) != want:
            refuse(path, "only %s is implemented, got %s" % (json.dumps(want), json.dumps(g(path))))
    if g("optimizer.type", "adamw") != "adamw":
        refuse("optimizer.type", "only adamw is implemented, got %s" % g("optimizer.type"))
    if g("weighting.strategy", "static") not in ("static", "uw"):
        refuse("weighting.strategy", "only static and uw are implemented, got %s" % g("weighting.strategy"))
    sampling = g("sampling.strategy", "proportional")
    if sampling not in ("temperature", "proportional", "uniform"):
        refuse("sampling.strategy", "only temperature, proportional and uniform are implemented, got %s" % sampling)
    metric = g("training.early_stopping.metric", "mean")
    if metric == "delta_m":
        refuse("training.early_stopping.metric", "delta_m is not implemented (use mean or a task name)")
    if g("schedule.type", "linear") not in ("linear", "cosine", "constant", "constant_with_warmup"):
        refuse("schedule.type", "unknown schedule %s" % g("schedule.type"))
    es = g("sampling.epoch_steps")
    # defaults as src/train/train_config.c's, so an unresolved config reads like its resolved config.json
    return dict(seed=g("seed", 42), lr=g("optimizer.lr", 1e-4), wd=g("optimizer.weight_decay", 0.01),
                beta1=g("optimizer.beta1", 0.9), beta2=g("optimizer.beta2", 0.999), eps=g("optimizer.eps", 1e-8),
                head_lr=g("optimizer.head_lr", 0.0), schedule=g("schedule.type", "linear"),
                warmup_steps=g("schedule.warmup_steps", 0), warmup_ratio=g("schedule.warmup_ratio", 0.0),
                batch_size=g("training.batch_size", 32), epochs=g("training.epochs", 3),
                max_steps=g("training.max_steps", 0), eval_every=g("training.eval_every", 0),
                accumulation=g("training.grad_accumulation", 1), max_grad_norm=g("training.max_grad_norm", 1.0),
                selection=metric, patience=g("training.early_stopping.patience", 0), sampling=sampling,
                temperature=g("sampling.temperature", 1.0), cap=g("sampling.cap", 0.0),
                epoch_steps=0 if es in (None, "sum") else int(es), weighting=g("weighting.strategy", "static"),
                bucket=g("training.bucket_by_length", True))


def _get(cfg, path, default=None):
    node = cfg
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node or node[key] is None:
            return default
        node = node[key]
    return node


def schedule_factor(r, step, total, warmup):
    """onestone's os_schedule_factor (HF's LambdaLR schedules, evaluated at the update's 0-based index)."""
    if r["schedule"] == "constant":
        return 1.0
    if step < warmup:
        return float(np.float32(step) / np.float32(max(warmup, 1)))
    if r["schedule"] == "constant_with_warmup":
        return 1.0
    decay = total - warmup
    if decay <= 0:
        return 0.0
    progress = min(1.0, (step - warmup) / decay)
    if r["schedule"] == "linear":
        return float(np.float32(1.0 - progress))
    return float(np.float32(0.5 * (1.0 + math.cos(math.pi * progress))))


# ---------------------------------------------------------------- the heads (the encoder: bert_modules.Bert)

class Crf(nn.Module):
    """pytorch-crf's parameters; forbidden moves of the tag scheme score -inf."""

    def __init__(self, labels, scheme):
        super().__init__()
        K = len(labels)
        self.start_transitions = nn.Parameter(torch.zeros(K))
        self.end_transitions = nn.Parameter(torch.zeros(K))
        self.transitions = nn.Parameter(torch.zeros(K, K))
        allowed, start, end = scheme_masks(labels, scheme if scheme else "none")
        self.register_buffer("allowed", allowed, persistent=False)
        self.register_buffer("allowed_start", start, persistent=False)
        self.register_buffer("allowed_end", end, persistent=False)

    def scores(self):
        ninf = torch.tensor(float("-inf"), dtype=torch.float64)
        return (torch.where(self.allowed_start, self.start_transitions.double(), ninf),
                torch.where(self.allowed_end, self.end_transitions.double(), ninf),
                torch.where(self.allowed, self.transitions.double(), ninf))

    def nll_sum(self, em, tags, lengths):
        """Sum over rows of logZ - score(gold); em (B,T,K) float64, rows of length 0 excluded by the caller."""
        start, end, trans = self.scores()
        B, T, K = em.shape
        rows = torch.arange(B)
        mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)  # (B,T)
        score = start[tags[:, 0]] + em[rows, 0, tags[:, 0]]
        alpha = start + em[:, 0]
        for t in range(1, T):
            step = trans[tags[:, t - 1], tags[:, t]] + em[rows, t, tags[:, t]]
            score = score + torch.where(mask[:, t], step, torch.zeros((), dtype=em.dtype))
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans + em[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        score = score + end[tags[rows, lengths - 1]]
        return (torch.logsumexp(alpha + end, dim=1) - score).sum()

    def viterbi(self, em):
        """Best allowed path of one sequence em (n,K)."""
        start, end, trans = (s.detach() for s in self.scores())
        score = start + em[0].double()
        history = []
        for t in range(1, em.shape[0]):
            score, idx = (score.unsqueeze(1) + trans + em[t].double().unsqueeze(0)).max(dim=0)
            history.append(idx)
        best = int((score + end).argmax())
        path = [best]
        for idx in reversed(history):
            best = int(idx[best])
            path.append(best)
        return path[::-1]


class Head(nn.Module):
    def __init__(self, task, hidden):
        super().__init__()
        self.task = task
        in_dim = 2 * hidden if task["level"] == "entity_pair" else hidden
        self.classifier = nn.Linear(in_dim, task["num_labels"])
        self.dropout = nn.Dropout(task["dropout"])
        if task["crf"]:
            self.crf = Crf(task["labels"], task.get("scheme"))


class MultiTask(nn.Module):
    def __init__(self, c, tasks):
        super().__init__()
        # dropout as the config says; no padding_idx: onestone's trainer updates the [PAD] row like any other
        self.bert = Bert(c, pooler=True, dropout=True, pad_row_frozen=False)
        self.heads = nn.ModuleDict({t["name"]: Head(t, c["hidden_size"]) for t in tasks})

    def logits(self, batch, names):
        seq, pooled = self.bert(batch["ids"], batch["types"], batch["mask"])
        out = {}
        rows = torch.arange(seq.shape[0])
        for name in names:
            head = self.heads[name]
            level = head.task["level"]
            if level == "sequence":
                x = pooled
            elif level == "token":
                x = seq
            else:
                pp = batch["pair_pos"]
                x = torch.cat([seq[rows, pp[:, 0]], seq[rows, pp[:, 1]]], dim=-1)
            out[name] = head.classifier(head.dropout(x))
        return out


def load_model(model_dir, tasks):
    c = json.load(open(os.path.join(model_dir, "config.json")))
    if c.get("hidden_act", "gelu") != "gelu":
        refuse("model hidden_act", "only gelu is implemented")
    model = MultiTask(c, tasks)
    tensors, _ = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    state = {k: v.float() for k, v in tensors.items()}
    for t in tasks:  # onestone names heads by their prefix ("heads.<task>.")
        if t["param_prefix"] != "heads.%s." % t["name"]:
            refuse("tasks.%s" % t["name"], "head parameter prefix %s" % t["param_prefix"])
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if not k.endswith("position_ids")]
    if missing or unexpected:
        sys.exit("mtl_reference: %s: missing tensors %s, unexpected %s" % (model_dir, missing, unexpected))
    return model, c


# ---------------------------------------------------------------- data

def load_export(export_dir):
    meta = json.load(open(os.path.join(export_dir, "meta.json")))
    data = {}
    for ds in meta["datasets"]:
        data[ds["name"]] = {}
        for split in ("train", "dev"):
            with open(os.path.join(export_dir, ds["name"], split + ".jsonl")) as f:
                data[ds["name"]][split] = [json.loads(line) for line in f]
    return meta, data


def collate(examples, pad_id, tasks):
    B, T = len(examples), max(len(e["input_ids"]) for e in examples)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    pair_pos = torch.zeros((B, 2), dtype=torch.long)
    for r, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[r, :n] = torch.tensor(e["input_ids"])
        types[r, :n] = torch.tensor(e["token_type_ids"])
        mask[r, :n] = 1
        if "pair_pos" in e:
            pair_pos[r] = torch.tensor([max(p, 0) for p in e["pair_pos"]])
    labels = {}
    for t in tasks:
        if t["level"] == "token":
            y = torch.full((B, T), IGNORE, dtype=torch.long)
            for r, e in enumerate(examples):
                y[r, :len(e["input_ids"])] = torch.tensor(e["labels"][t["name"]])
            labels[t["name"]] = y
        else:
            labels[t["name"]] = torch.tensor([e["labels"][t["name"]] for e in examples])
    return {"ids": ids, "types": types, "mask": mask, "pair_pos": pair_pos, "labels": labels, "examples": examples}


def word_first_positions(e):
    return [p for p in e.get("first_piece", []) if p >= 0]


def task_loss(model, task, logits, batch):
    """(loss, count) as onestone's heads: mean cross-entropy over labelled rows / pieces, or the CRF's
    negative log-likelihood over rows whose words are all labelled, divided by their word count."""
    y = batch["labels"][task["name"]]
    if not task["crf"]:
        n = int((y != IGNORE).sum())
        if n == 0:
            return None, 0
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE), n
    rows, ems, tags, lens = [], [], [], []
    for r, e in enumerate(batch["examples"]):
        pos = word_first_positions(e)
        gold = y[r, pos]
        if not pos or bool((gold < 0).any()):
            continue  # a row with unlabelled words gives the CRF no whole gold path
        rows.append(r)
        ems.append(logits[r, pos])
        tags.append(gold)
        lens.append(len(pos))
    n = sum(lens)
    if n == 0:
        return None, 0
    T = max(lens)
    em = torch.stack([F.pad(x, (0, 0, 0, T - x.shape[0])) for x in ems]).double()
    tg = torch.stack([F.pad(x, (0, T - x.shape[0])) for x in tags])
    nll = model.heads[task["name"]].crf.nll_sum(em, tg, torch.tensor(lens))
    return (nll / n).float(), n


# ---------------------------------------------------------------- evaluation (onestone's metrics)

def evaluate(model, meta, data, batch_size, pad_id):
    model.eval()
    out, main = {}, {}
    with torch.no_grad():
        for ds in meta["datasets"]:
            tasks = [t for t in meta["tasks"] if t["dataset"] == ds["name"]]
            dev = data[ds["name"]]["dev"]
            pred = {t["name"]: [] for t in tasks}
            for s in range(0, len(dev), batch_size):
                batch = collate(dev[s:s + batch_size], pad_id, tasks)
                logits = model.logits(batch, [t["name"] for t in tasks])
                for t in tasks:
                    lg = logits[t["name"]]
                    if t["level"] != "token":
                        pred[t["name"]] += lg.argmax(-1).tolist()
                        continue
                    for r, e in enumerate(batch["examples"]):
                        pos = word_first_positions(e)
                        if t["crf"]:
                            path = model.heads[t["name"]].crf.viterbi(lg[r, pos]) if pos else []
                            tag_at = dict(zip(pos, path))
                        else:
                            tag_at = {p: int(lg[r, p].argmax()) for p in pos}
                        pred[t["name"]].append([tag_at.get(p, -1) for p in e["first_piece"]])
            for t in tasks:
                scores = task_metrics(t, dev, pred[t["name"]])
                out[t["name"]] = scores
                main[t["name"]] = scores.get(t["metric"], float("nan"))
    model.train()
    return out, main


def task_metrics(t, dev, pred):
    names = t["labels"]
    if t["level"] == "token":
        if not t["entity_tags"]:
            pairs = [(g, p) for e, ps in zip(dev, pred) for g, p in zip(e["word_labels"][t["name"]], ps) if g >= 0]
            return {"accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0, "words": len(pairs)}
        gold_s = [[names[g] if g >= 0 else "O" for g in e["word_labels"][t["name"]]] for e in dev]
        pred_s = [[names[p] if p >= 0 else "O" for p in ps] for ps in pred]  # truncated words: O
        g, p = set(get_entities(gold_s)), set(get_entities(pred_s))
        precision, recall, f1 = prf(len(g & p), len(p), len(g))
        flat = [(a, b) for gs, ps in zip(gold_s, pred_s) for a, b in zip(gs, ps)]
        return {"entity_f1": f1, "entity_precision": precision, "entity_recall": recall,
                "accuracy": sum(a == b for a, b in flat) / len(flat) if flat else 0.0}
    gold = [e["labels"][t["name"]] for e in dev]
    pairs = [(g, p) for g, p in zip(gold, pred) if g >= 0]
    scores = {"accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0, "examples": len(pairs)}
    if t["type"] == "relation_classification":
        scores["semeval_f1"] = semeval_official([names[g] for g, _ in pairs], [names[p] for _, p in pairs])[2] / 100.0
    return scores


# ---------------------------------------------------------------- batches: own sampler or onestone's trace

class OwnSampler:
    """One dataset per micro-batch with probabilities from the sizes (temperature: n^(1/T), capped; proportional;
    uniform), each dataset read in shuffled passes of batch_size examples; its own numpy generator.
    bucket_by_length: inside windows of 50 batches the shuffled examples are sorted by length (ties by index)
    and the batches' order is shuffled again, so a batch holds similar lengths (this changes the losses'
    per-batch averaging, so it is part of the recipe)."""

    def __init__(self, r, meta, data, seed):
        self.lengths = {d["name"]: [len(e["input_ids"]) for e in data[d["name"]]["train"]] for d in meta["datasets"]}
        self.bucket = r["bucket"]
        self.rng = np.random.default_rng(seed)
        self.names = [d["name"] for d in meta["datasets"]]
        sizes = np.array([d["train_size"] for d in meta["datasets"]], dtype=np.float64)
        if r["sampling"] == "uniform":
            w = np.ones_like(sizes)
        elif r["sampling"] == "proportional":
            w = sizes
        else:
            if r["cap"] > 0:
                sizes = np.minimum(sizes, r["cap"])
            w = sizes ** (1.0 / r["temperature"])
        self.probs = w / w.sum()
        self.sizes = [d["train_size"] for d in meta["datasets"]]
        self.bs = r["batch_size"]
        self.queue = {n: [] for n in self.names}

    def next(self):
        gi = int(self.rng.choice(len(self.names), p=self.probs)) if len(self.names) > 1 else 0
        name = self.names[gi]
        q = self.queue[name]
        if not q:
            order = self.rng.permutation(self.sizes[gi]).tolist()
            if self.bucket:
                w, lens = 50 * self.bs, self.lengths[name]
                order = [i for s in range(0, len(order), w) for i in sorted(order[s:s + w], key=lambda i: (lens[i], i))]
            batches = [order[s:s + self.bs] for s in range(0, len(order), self.bs)]
            if self.bucket:
                batches = [batches[i] for i in self.rng.permutation(len(batches))]
            q.extend(batches)
        return name, q.pop(0)


def read_trace(path):
    steps = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            steps[rec["step"]] = rec  # a resumed run appends: the last record of a step is the one that ran
    return steps


# ---------------------------------------------------------------- training

def param_groups(model, r):
    """AdamW groups as onestone's: no weight decay on biases, LayerNorm and CRF parameters; heads at head_lr."""
    groups = {}
    for name, p in model.named_parameters():
        no_decay = name.endswith(".bias") or "LayerNorm" in name or ".crf." in name
        is_head = not name.startswith("bert.")
        scale = r["head_lr"] / r["lr"] if is_head and r["head_lr"] > 0 else 1.0
        key = (no_decay, scale)
        groups.setdefault(key, []).append(p)
    return [{"params": ps, "weight_decay": 0.0 if nd else r["wd"], "lr_scale": sc} for (nd, sc), ps in groups.items()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export_dir")
    ap.add_argument("--model", required=True, help="initial model directory (export-data --init-model)")
    ap.add_argument("--config", help="resolved config (default EXPORT_DIR/config.json)")
    ap.add_argument("--replay", help="onestone's batch trace (training.trace_file) to replay")
    ap.add_argument("--seed", type=int, help="seed of the sampler and dropout (default: the config's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (the schedule keeps its length)")
    ap.add_argument("--out", help="write the result JSON here")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config or os.path.join(a.export_dir, "config.json")))
    meta, data = load_export(a.export_dir)
    r = read_recipe(cfg)
    for t in meta["tasks"]:
        if t["level"] not in ("sequence", "token", "entity_pair") or t["problem"] != "single_label_classification":
            refuse("tasks.%s.type" % t["name"], "%s is not implemented" % t["type"])
    seed = a.seed if a.seed is not None else r["seed"]
    torch.manual_seed(seed)
    model, enc_cfg = load_model(a.model, meta["tasks"])
    model.train()
    pad_id = meta["pad_id"]
    tasks_of = {d["name"]: [t for t in meta["tasks"] if t["dataset"] == d["name"]] for d in meta["datasets"]}
    names = [t["name"] for t in meta["tasks"]]

    bs = r["batch_size"]
    epoch_steps = r["epoch_steps"] or sum((d["train_size"] + bs - 1) // bs for d in meta["datasets"])
    total = r["max_steps"] if r["max_steps"] > 0 else r["epochs"] * epoch_steps
    eval_every = r["eval_every"] or epoch_steps
    warmup = max(r["warmup_steps"], math.ceil(r["warmup_ratio"] * total))
    stop_at = min(a.max_steps, total) if a.max_steps > 0 else total

    for p in model.parameters():  # onestone updates every parameter every step: absent heads see zero gradients
        p.grad = torch.zeros_like(p)
    groups = param_groups(model, r)
    opt = torch.optim.AdamW(groups, lr=r["lr"], betas=(r["beta1"], r["beta2"]), eps=r["eps"])
    uw = r["weighting"] == "uw"
    log_var = torch.zeros(len(names), requires_grad=True)  # UW's s_i = log sigma_i^2
    log_var.grad = torch.zeros_like(log_var)
    uw_opt = torch.optim.Adam([log_var], lr=r["lr"], betas=(r["beta1"], r["beta2"]), eps=r["eps"]) if uw else None

    trace = read_trace(a.replay) if a.replay else None
    sampler = None if trace else OwnSampler(r, meta, data, seed)
    result = {"steps": [], "evals": [], "recipe": r, "total_steps": total, "epoch_steps": epoch_steps}
    best_score, best_step, best_dev, bad_evals = -math.inf, 0, None, 0
    step = 0
    while step < stop_at:
        opt.zero_grad(set_to_none=False)
        log_var.grad.zero_()
        if trace:
            rec = trace.get(step + 1)
            if rec is None:
                sys.exit("mtl_reference: %s has no record of step %d" % (a.replay, step + 1))
            micro = [(b["dataset"], b["examples"]) for b in rec["batches"]]
            if len(micro) != r["accumulation"]:
                sys.exit("mtl_reference: step %d of the trace has %d micro-batches, the config %d"
                         % (step + 1, len(micro), r["accumulation"]))
        else:
            micro = [sampler.next() for _ in range(r["accumulation"])]
        # UW weights of this step, from s before its update (as onestone's begin_step)
        lam = (0.5 * torch.exp(-log_var)).detach() if uw else None
        rec_losses = []
        for ds, idx in micro:
            tasks = tasks_of[ds]
            batch = collate([data[ds]["train"][i] for i in idx], pad_id, tasks)
            logits = model.logits(batch, [t["name"] for t in tasks])
            total_loss, uw_loss, losses = 0.0, 0.0, {}
            for t in tasks:
                loss, n = task_loss(model, t, logits[t["name"]], batch)
                if n == 0:
                    continue
                losses[t["name"]] = loss.item()
                w = t["loss_weight"]
                if uw:
                    i = names.index(t["name"])
                    w = lam[i] * np.float32(t["loss_weight"])
                    uw_loss = uw_loss + 0.5 * torch.exp(-log_var[i]) * loss.detach() + 0.5 * log_var[i]
                total_loss = total_loss + w * loss
            if not all(math.isfinite(v) for v in losses.values()):
                sys.exit("mtl_reference: step %d: non-finite loss %s" % (step + 1, losses))
            if torch.is_tensor(total_loss):
                total_loss.backward()
            if uw and torch.is_tensor(uw_loss):
                uw_loss.backward()
            rec_losses.append({"dataset": ds, "loss": losses})
        params = [p for p in model.parameters()]
        if r["accumulation"] > 1:
            for p in params:
                p.grad.div_(r["accumulation"])
            log_var.grad.div_(r["accumulation"])
        norm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
        if r["max_grad_norm"] > 0 and norm > r["max_grad_norm"]:
            coef = np.float32(r["max_grad_norm"] / (norm + 1e-6))
            for p in params:
                p.grad.mul_(float(coef))
        lr = float(np.float32(r["lr"]) * np.float32(schedule_factor(r, step, total, warmup)))
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]
        opt.step()
        if uw:
            uw_opt.param_groups[0]["lr"] = lr
            uw_opt.step()
        step += 1
        result["steps"].append({"step": step, "lr": lr, "grad_norm": norm, "batches": rec_losses})
        if not a.quiet and (step % 50 == 0 or step == stop_at):
            print("step %d/%d %s" % (step, total, " ".join("%s %.4f" % (k, v) for b in rec_losses
                                                            for k, v in b["loss"].items())), file=sys.stderr)
        if step % eval_every == 0 or step == stop_at:
            dev, main = evaluate(model, meta, data, bs, pad_id)
            score = (sum(main[n] for n in names) / len(names)) if r["selection"] == "mean" else main[r["selection"]]
            improved = math.isfinite(score) and not score <= best_score
            result["evals"].append({"step": step, "score": score, "dev": dev, "best": improved})
            if not a.quiet:
                print("eval step %d: %s %.4f | %s" % (step, r["selection"], score, " | ".join(
                    "%s %s %.4f" % (t["name"], t["metric"], main[t["name"]]) for t in meta["tasks"])), file=sys.stderr)
            if improved:
                best_score, best_step, best_dev, bad_evals = score, step, dev, 0
            else:
                bad_evals += 1
                if r["patience"] > 0 and bad_evals >= r["patience"]:
                    break
    result.update({"best_step": best_step, "best_score": best_score, "steps_run": step, "dev": best_dev,
                   "uw_log_variances": log_var.detach().tolist() if uw else None})
    text = json.dumps(result, indent=1)
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.out)
    summary = {"best_step": best_step, "best_score": best_score, "dev": best_dev}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
