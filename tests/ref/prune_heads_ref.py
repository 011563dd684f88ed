#!/usr/bin/python3
"""PyTorch side of tests/test_prune.c: a structurally pruned onestone model against PyTorch.

usage: prune_heads_ref.py FULL_DIR PRUNED_DIR BATCH.json
  FULL_DIR    the model before compaction (fp32, full shapes)
  PRUNED_DIR  onestone's compacted model (config.json onestone.deploy + HF pruned_heads)
  BATCH.json  {"ids": [[...]], "mask": [[...]], "sent": [[...]], "tags": [[[...]]]}: a batch and onestone's
              logits of the "sent" (pooler + classifier) and "tags" (token classifier) heads
Checks (1) HF's prune_heads (transformers' prune_linear_layer: index_select of the kept heads' rows of
query/key/value and columns of the attention output) applied to FULL gives exactly PRUNED's tensors, and
(2) a PyTorch BERT forward with PRUNED's per-layer head counts and FFN widths gives onestone's logits
(max abs difference <= 1e-4 x max |logit|). Prints "pruned model matches: ..." or exits 1.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        b, e = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(body[b:e]), dtype=torch.float32).reshape(t["shape"])
    return out


def fail(msg):
    print("prune_heads_ref.py: " + msg)
    sys.exit(1)


def main():
    full_dir, pruned_dir, batch_path = sys.argv[1:4]
    full = read_safetensors(full_dir + "/model.safetensors")
    pr = read_safetensors(pruned_dir + "/model.safetensors")
    cfg = json.load(open(pruned_dir + "/config.json"))
    batch = json.load(open(batch_path))
    C, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    HS = C // NH
    layers = cfg["onestone"]["deploy"]["layers"]
    hf_pruned = {int(k): v for k, v in cfg.get("pruned_heads", {}).items()}

    # (1) transformers' prune_heads on the full model == the stored compacted attention tensors.
    for l in range(L):
        heads = set(hf_pruned.get(l, []))
        if sorted(heads) != sorted(layers[l]["pruned_heads"]):
            fail("layer %d: pruned_heads differ between HF's field and onestone.deploy" % l)
        mask = torch.ones(NH, HS)
        for h in heads:
            mask[h] = 0
        index = torch.arange(NH * HS)[mask.view(-1).eq(1)].long()
        p = "bert.encoder.layer.%d." % l
        for sub in ("attention.self.query", "attention.self.key", "attention.self.value"):
            if not torch.equal(full[p + sub + ".weight"].index_select(0, index), pr[p + sub + ".weight"]) or \
               not torch.equal(full[p + sub + ".bias"].index_select(0, index), pr[p + sub + ".bias"]):
                fail("layer %d %s: not HF's prune_linear_layer of the full model" % (l, sub))
        if not torch.equal(full[p + "attention.output.dense.weight"].index_select(1, index),
                           pr[p + "attention.output.dense.weight"]):
            fail("layer %d attention.output.dense: not HF's prune_linear_layer" % l)

    # (2) forward with the smaller shapes.
    eps = cfg.get("layer_norm_eps", 1e-12)
    ids = torch.tensor(batch["ids"], dtype=torch.long)
    am = torch.tensor(batch["mask"], dtype=torch.float32)
    B, T = ids.shape
    g = lambda n: pr["bert." + n]
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:T] + \
        g("embeddings.token_type_embeddings.weight")[0]
    x = F.layer_norm(x, (C,), g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
    ext = (1.0 - am)[:, None, None, :] * torch.finfo(torch.float32).min
    for l in range(L):
        nh = layers[l]["num_heads"]
        w = lambda n: g("encoder.layer.%d.%s" % (l, n))
        lin = lambda v, n: v @ w(n + ".weight").T + w(n + ".bias")
        split = lambda v: v.view(B, T, nh, HS).transpose(1, 2)
        q, k, v = (split(lin(x, "attention.self." + n)) for n in ("query", "key", "value"))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + ext, dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, nh * HS)
        x1 = F.layer_norm(lin(ctx, "attention.output.dense") + x, (C,), w("attention.output.LayerNorm.weight"),
                          w("attention.output.LayerNorm.bias"), eps)
        inter = F.gelu(lin(x1, "intermediate.dense"))
        if inter.shape[-1] != layers[l]["intermediate_size"]:
            fail("layer %d: FFN width %d, config says %d" % (l, inter.shape[-1], layers[l]["intermediate_size"]))
        x = F.layer_norm(lin(inter, "output.dense") + x1, (C,), w("output.LayerNorm.weight"),
                         w("output.LayerNorm.bias"), eps)
    pooled = torch.tanh(x[:, 0] @ g("pooler.dense.weight").T + g("pooler.dense.bias"))
    sent = pooled @ pr["heads.sent.classifier.weight"].T + pr["heads.sent.classifier.bias"]
    tags = x @ pr["heads.tags.classifier.weight"].T + pr["heads.tags.classifier.bias"]
    worst = 0.0
    for name, ours, ref in (("sent", batch["sent"], sent), ("tags", batch["tags"], tags)):
        ours = torch.tensor(ours, dtype=torch.float32)
        d = (ours - ref).abs().max().item()
        scale = ref.abs().max().item()
        if d > 1e-4 * scale:
            fail("%s logits differ by %g (max |logit| %g)" % (name, d, scale))
        worst = max(worst, d / scale)
    print("pruned model matches: HF prune_heads tensors equal, logits within %.2g of max |logit|" % worst)


if __name__ == "__main__":
    main()
