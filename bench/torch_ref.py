#!/usr/bin/python3
"""PyTorch side of `make bench` (bench/run.sh): the same three-head BERT as bench_onestone, loaded from the
model directory bench_onestone wrote (same weights, same inputs), written the way HF transformers' eager
BertModel computes (tests/ref/bert_modules.py: separate q/k/v linears, matmul attention, exact GELU,
dropout 0.1 in training; the embeddings summed in HF's order).

usage: torch_ref.py train|infer DIR THREADS N WARMUP     one JSON line: tokens/s (median step), peak RSS
       torch_ref.py export DIR OUT.onnx                  the inference graph (all heads) for onnxruntime
"""
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ next to the imported tests/ref module
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from bert_modules import Bert  # noqa: E402  (the one BERT of the PyTorch references)

TASKS = [("ner", "token", 9), ("rel", "entity_pair", 19), ("sent", "sequence", 2)]


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        assert v["dtype"] == "F32", name
        out[name] = torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=(e - s) // 4,
                                                   offset=8 + n + s).copy()).reshape(v["shape"])
    return out


def load_inputs(path):
    raw = np.fromfile(path, dtype=np.int32)
    B, T, _ = raw[:3]
    o = 3
    take = lambda k: raw[o:o + k]
    ids = torch.from_numpy(take(B * T).reshape(B, T).astype(np.int64)); o += B * T
    ner = torch.from_numpy(raw[o:o + B * T].reshape(B, T).astype(np.int64)); o += B * T
    rel = torch.from_numpy(raw[o:o + B].astype(np.int64)); o += B
    sent = torch.from_numpy(raw[o:o + B].astype(np.int64)); o += B
    pair = torch.from_numpy(raw[o:o + 2 * B].reshape(B, 2).astype(np.int64))
    return ids, torch.ones(B, T, dtype=torch.int64), {"ner": ner, "rel": rel, "sent": sent}, pair


class MultiTask(nn.Module):
    def __init__(self, c):
        super().__init__()
        # HF's eager BertModel to the last bit: its dropout, its frozen [PAD] row, its order of the embedding sum
        # (the order changes the losses' last bits, not the work: three lookups and two additions either way)
        self.bert = Bert(c, pooler=True, dropout=True, pad_row_frozen=True, hf_sum_order=True)
        self.heads = nn.ModuleDict()
        for name, level, n in TASKS:
            h = nn.Module()
            h.classifier = nn.Linear(c["hidden_size"] * (2 if level == "entity_pair" else 1), n)
            self.heads[name] = h
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def head(self, name, level, seq, pooled, pair):
        if level == "entity_pair":
            rows = torch.arange(seq.shape[0])
            x = torch.cat([seq[rows, pair[:, 0]], seq[rows, pair[:, 1]]], dim=-1)
        else:
            x = pooled if level == "sequence" else seq
        return self.heads[name].classifier(self.dropout(x))

    def forward(self, ids, mask, pair, task=None):
        seq, pooled = self.bert(ids, torch.zeros_like(ids), mask)
        return [self.head(n, lv, seq, pooled, pair) for n, lv, _ in TASKS if task is None or n == task]


def build(d):
    with open(d + "/config.json") as f:
        c = json.load(f)
    model = MultiTask(c)
    model.load_state_dict(load_safetensors(d + "/model.safetensors"), strict=True)
    return model


def report(mode, threads, tokens, secs, cpu):
    med = float(np.median(secs))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"impl": "pytorch", "mode": mode, "threads": threads, "tokens_per_s": round(tokens / med, 1),
                      "median_s": round(med, 4), "cpu_tokens_per_s": round(tokens / float(np.median(cpu)), 1),
                      "maxrss_kb": rss}), flush=True)


def main():
    mode, d = sys.argv[1], sys.argv[2]
    model = build(d)
    ids, mask, labels, pair = load_inputs(d + "/inputs.bin")
    if mode == "export":
        model.eval()
        torch.onnx.export(model, (ids, mask, pair), sys.argv[3], input_names=["input_ids", "attention_mask",
                          "pair_pos"], output_names=[n for n, _, _ in TASKS], opset_version=14,
                          dynamic_axes={"input_ids": {0: "B", 1: "T"}, "attention_mask": {0: "B", 1: "T"},
                                        "pair_pos": {0: "B"}})
        return
    threads, n, warmup = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    secs, cpu = [], []
    if mode == "train":
        model.train()
        decay = [p for k, p in model.named_parameters() if not (k.endswith("bias") or "LayerNorm" in k)]
        nodecay = [p for k, p in model.named_parameters() if k.endswith("bias") or "LayerNorm" in k]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                                lr=1e-4)
        for i in range(warmup + n):
            name, level, k = TASKS[i % len(TASKS)]
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=False)
            logits = model(ids, mask, pair, task=name)[0]
            loss = F.cross_entropy(logits.reshape(-1, k), labels[name].reshape(-1), ignore_index=-100)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if i >= warmup:
                secs.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
    else:
        model.eval()
        with torch.inference_mode():
            for i in range(warmup + n):
                t0, c0 = time.perf_counter(), time.process_time()
                model(ids, mask, pair)
                if i >= warmup:
                    secs.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
    report(mode, threads, ids.numel(), secs, cpu)


if __name__ == "__main__":
    main()
