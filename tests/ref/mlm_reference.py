#!/usr/bin/python3
"""PyTorch reference for onestone's masked-LM head (plain torch, no transformers package).

BertForMaskedLM with HuggingFace's module names: bert.* (no pooler) + cls.predictions.transform.{dense,
LayerNorm} + cls.predictions.bias, the decoder tied to bert.embeddings.word_embeddings (saved without a
decoder tensor, as HF's save_pretrained does for tied weights).

usage: /usr/bin/python3 tests/ref/mlm_reference.py OUT_DIR
         writes OUT_DIR/mlm (config.json, model.safetensors, vocab.txt, golden.safetensors: inputs, labels,
         logits of every position, the loss and every parameter's gradient)
       /usr/bin/python3 tests/ref/mlm_reference.py --check-load MODEL_DIR
         loads an onestone pretraining model directory strictly as BertForMaskedLM and prints the logits of
         a fixed input (first row, first 8 vocabulary entries) so the C side can compare
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ beside the imported modules
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_reference import CONFIG, Bert, init_like_hf, load_safetensors, make_batch, save_safetensors  # noqa: E402

torch.manual_seed(4321)


class Transform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class Predictions(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = Transform(c)
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))


class Cls(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = Predictions(c)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = Bert(c, pooler=False)
        self.cls = Cls(c)

    def forward(self, ids, types, mask):
        seq, _ = self.bert(ids, types, mask)
        h = self.cls.predictions.transform(seq)
        # the tied decoder: word embeddings as the output projection
        return h @ self.bert.embeddings.word_embeddings.weight.t() + self.cls.predictions.bias


def write_vocab(d, n):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(n - 5)]
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(words) + "\n")


def reference(out):
    d = os.path.join(out, "mlm")
    os.makedirs(d, exist_ok=True)
    model = BertForMaskedLM(CONFIG)
    init_like_hf(model, 0.2)
    with torch.no_grad():
        model.cls.predictions.bias.normal_(0.0, 0.2)
    cfg = dict(CONFIG)
    cfg["architectures"] = ["BertForMaskedLM"]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save_safetensors(os.path.join(d, "model.safetensors"), dict(model.state_dict()))
    write_vocab(d, CONFIG["vocab_size"])

    B, T, V = 3, 29, CONFIG["vocab_size"]
    ids, _, mask = make_batch(B, T, [29, 17, 23], V)
    types = torch.zeros_like(ids)
    labels = torch.full((B, T), -100, dtype=torch.int64)
    pick = (torch.rand(B, T) < 0.3) & (mask == 1)
    pick[:, 0] = False
    labels[pick] = torch.randint(5, V, (int(pick.sum()),))
    logits = model(ids, types, mask)
    loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
    loss.backward()
    g = {"input_ids": ids, "attention_mask": mask, "labels": labels, "logits": logits.detach(),
         "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        g["grad." + name] = p.grad.detach().clone()
    save_safetensors(os.path.join(d, "golden.safetensors"), g)


def check_load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    assert cfg["architectures"] == ["BertForMaskedLM"], cfg["architectures"]
    state = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    model = BertForMaskedLM(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit("load mismatch: missing %s unexpected %s" % (missing, unexpected))
    ids = torch.tensor([[2, 7, 8, 9, 4, 3]])
    with torch.no_grad():
        logits = model(ids, torch.zeros_like(ids), torch.ones_like(ids))
    print(" ".join("%.7g" % x for x in logits[0, 4, :8].tolist()))


if __name__ == "__main__":
    if sys.argv[1] == "--check-load":
        check_load(sys.argv[2])
    else:
        reference(sys.argv[1])
        print("reference written to", sys.argv[1])
