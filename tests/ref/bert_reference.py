#!/usr/bin/python3
"""PyTorch reference for onestone's parity tests (plain torch, no transformers package).

Builds BERT models whose modules and state_dict names match HuggingFace's (bert.embeddings.word_embeddings.weight,
bert.encoder.layer.N.attention.self.query.weight, ...), writes them as model directories (config.json +
model.safetensors [+ vocab.txt]) and writes golden tensors (inputs, labels, logits, losses, every parameter
gradient, losses of 10 optimizer steps) to golden.safetensors beside each model.

usage: /usr/bin/python3 tests/ref/bert_reference.py OUT_DIR
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ beside the imported module
import bert_modules  # noqa: E402  (this folder is sys.path[0] when run, and on the path of its importers)

torch.manual_seed(1234)
torch.set_num_threads(1)


# ---------------------------------------------------------------- safetensors (writer only, as in the format spec)
DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.float16: "F16", torch.bfloat16: "BF16"}


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata or {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the model, with HF's module names
class Bert(bert_modules.Bert):
    """The parity models: no dropout whatever the config says (goldens are deterministic, and --check-load reads
    onestone directories whose config.json asks for 0.1), and HF's padding_idx on the word embeddings."""

    def __init__(self, c, pooler=True):
        super().__init__(c, pooler=pooler, dropout=False, pad_row_frozen=True)


def init_like_hf(module, std):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, std)
            m.bias.data.normal_(0.0, std)  # non-zero biases make bias gradients meaningful
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(0.0, std)
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.normal_(1.0, 0.1)
            m.bias.data.normal_(0.0, 0.1)


class Head(nn.Module):
    def __init__(self, hidden, n):
        super().__init__()
        self.classifier = nn.Linear(hidden, n)


CONFIG = dict(vocab_size=97, hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=80,
              max_position_embeddings=40, type_vocab_size=2, pad_token_id=0, layer_norm_eps=1e-12,
              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02,
              hidden_act="gelu", model_type="bert", position_embedding_type="absolute")

TASKS = [  # name, level, problem, num_labels, loss weight
    ("sent", "sequence", "single_label_classification", 3, 1.0),
    ("ner", "token", "single_label_classification", 5, 0.5),
    ("score", "sequence", "regression", 1, 2.0),
    ("tags", "sequence", "multi_label_classification", 4, 0.7),
    ("rel", "entity_pair", "single_label_classification", 5, 1.3),
]


def write_config(dirname, extra):
    c = dict(CONFIG)
    c.update(extra)
    with open(os.path.join(dirname, "config.json"), "w") as f:
        json.dump(c, f, indent=2)


def make_batch(B, T, lengths, vocab):
    ids = torch.randint(5, vocab, (B, T))
    mask = torch.zeros(B, T, dtype=torch.int64)
    types = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = 0
        ids[b, 0] = 2  # [CLS]
        ids[b, n - 1] = 3  # [SEP]
        types[b, n // 2:n] = 1 if b % 2 == 0 else 0  # text pairs in some rows
    return ids, types, mask


class MultiTask(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = Bert(c)
        self.heads = nn.ModuleDict({name: Head(c["hidden_size"] * (2 if lv == "entity_pair" else 1), n)
                                    for name, lv, _, n, _ in TASKS})

    def forward(self, ids, types, mask, labels, pair_pos):
        seq, pooled = self.bert(ids, types, mask)
        logits, losses = {}, {}
        rows = torch.arange(ids.shape[0])
        for name, level, problem, n, _ in TASKS:
            if level == "entity_pair":  # entity-start vectors side by side
                x = torch.cat([seq[rows, pair_pos[:, 0]], seq[rows, pair_pos[:, 1]]], dim=-1)
            else:
                x = pooled if level == "sequence" else seq
            lg = self.heads[name].classifier(x)
            logits[name] = lg
            y = labels[name]
            if problem == "single_label_classification":
                losses[name] = F.cross_entropy(lg.reshape(-1, n), y.reshape(-1), ignore_index=-100)
            elif problem == "regression":
                losses[name] = F.mse_loss(lg, y)
            else:
                losses[name] = F.binary_cross_entropy_with_logits(lg, y)
        total = sum(w * losses[name] for name, _, _, _, w in TASKS)
        return logits, losses, total


def multitask(out):
    d = os.path.join(out, "multitask")
    os.makedirs(d, exist_ok=True)
    model = MultiTask(CONFIG)
    init_like_hf(model, 0.2)
    B, T = 3, 37
    ids, types, mask = make_batch(B, T, [37, 21, 30], CONFIG["vocab_size"])
    ner = torch.randint(0, 5, (B, T))
    ner[mask == 0] = -100
    ner[0, 0] = ner[0, 36] = ner[1, 5] = -100  # specials and non-first word pieces are ignored
    labels = {"sent": torch.tensor([2, 0, 1]), "ner": ner, "score": torch.randn(B, 1),
              "tags": (torch.rand(B, 4) > 0.5).float(), "rel": torch.tensor([4, 1, 0])}
    pair_pos = torch.tensor([[1, 5], [3, 2], [7, 12]])

    tasks_meta = [dict(name=n, level=lv, problem_type=p, num_labels=k, loss_weight=w, classifier_dropout=0.0,
                       param_prefix="heads.%s." % n) for n, lv, p, k, w in TASKS]
    write_config(d, {"architectures": ["BertModel"], "onestone": {"format_version": 1, "pooler": True,
                                                                   "tasks": tasks_meta}})
    save_safetensors(os.path.join(d, "model.safetensors"), dict(model.state_dict()))

    g = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels.sent": labels["sent"],
         "labels.ner": ner, "labels.score": labels["score"], "labels.tags": labels["tags"], "labels.rel": labels["rel"], "pair_pos": pair_pos}
    logits, losses, total = model(ids, types, mask, labels, pair_pos)
    total.backward()
    for name, lg in logits.items():
        g["logits." + name] = lg.detach()
        g["loss." + name] = losses[name].detach().reshape(1)
    g["loss.total"] = total.detach().reshape(1)
    for name, p in model.named_parameters():
        g["grad." + name] = p.grad.detach().clone()

    # 10 steps of each optimiser from the same start; no weight decay on biases and LayerNorm (like onestone).
    start = {k: v.clone() for k, v in model.state_dict().items()}
    for opt_name in ("adamw", "sgd"):
        model.load_state_dict(start)
        decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
        nodecay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
        if opt_name == "adamw":
            opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                                    lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        else:
            opt = torch.optim.SGD([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                                  lr=0.005, momentum=0.9, nesterov=True)
        steps = []
        for _ in range(10):
            opt.zero_grad()
            _, _, total = model(ids, types, mask, labels, pair_pos)
            steps.append(total.item())
            total.backward()
            opt.step()
        g["steps." + opt_name] = torch.tensor(steps)
    save_safetensors(os.path.join(d, "golden.safetensors"), g)


def hf_single(out, name, arch, level, n_labels, prefix, ln_names, pooler):
    """An HF BertFor{Sequence,Token}Classification (or bare BertModel) directory and its golden logits."""
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    bert = Bert(CONFIG, pooler=pooler)
    head = nn.Linear(CONFIG["hidden_size"], n_labels) if n_labels else None
    init_like_hf(bert, 0.2)
    state = {prefix + k: v for k, v in bert.state_dict().items()}
    if head is not None:
        init_like_hf(head, 0.2)
        state["classifier.weight"], state["classifier.bias"] = head.weight, head.bias
    if ln_names == "gamma_beta":
        state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
                 for k, v in state.items()}
    state[prefix + "embeddings.position_ids"] = torch.arange(CONFIG["max_position_embeddings"]).unsqueeze(0)
    extra = {"architectures": [arch]}
    if n_labels:
        extra["id2label"] = {str(i): "L%d" % i for i in range(n_labels)}
        extra["label2id"] = {"L%d" % i: i for i in range(n_labels)}
    write_config(d, extra)
    save_safetensors(os.path.join(d, "model.safetensors"), state)
    B, T = 2, 23
    ids, types, mask = make_batch(B, T, [23, 11], CONFIG["vocab_size"])
    with torch.no_grad():
        seq, pooled = bert(ids, types, mask)
        g = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "sequence_output": seq}
        if head is not None:
            g["logits"] = head(pooled if level == "sequence" else seq)
    save_safetensors(os.path.join(d, "golden.safetensors"), g)


WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "fast", "and", "slow", "red", "big", "small", "house"]


def predict_case(out):
    """A token-classification checkpoint with a tiny vocabulary, texts whose WordPiece tokenisation is plain
    whitespace splitting, and PyTorch's logits for them (what `onestone predict --logits` must reproduce)."""
    d = os.path.join(out, "predict_tok")
    os.makedirs(d, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    cfg = dict(CONFIG)
    cfg["vocab_size"] = len(vocab)
    bert = Bert(cfg, pooler=True)
    head = nn.Linear(cfg["hidden_size"], 3)
    init_like_hf(bert, 0.2)
    init_like_hf(head, 0.2)
    state = {"bert." + k: v for k, v in bert.state_dict().items()}
    state["classifier.weight"], state["classifier.bias"] = head.weight, head.bias
    with open(os.path.join(d, "config.json"), "w") as f:
        cfg.update({"architectures": ["BertForTokenClassification"], "id2label": {"0": "O", "1": "B-X", "2": "I-X"}})
        json.dump(cfg, f, indent=2)
    save_safetensors(os.path.join(d, "model.safetensors"), state)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    texts = ["the cat sat on the mat", "a big red dog ran fast", "small house", "the dog and the cat"]
    with open(os.path.join(d, "texts.txt"), "w") as f:
        f.write("\n".join(texts) + "\n")
    golden = {}
    with torch.no_grad():
        for i, t in enumerate(texts):
            ids = torch.tensor([[2] + [vocab.index(w) for w in t.split()] + [3]])
            seq, _ = bert(ids, torch.zeros_like(ids), torch.ones_like(ids))
            golden["logits.%d" % i] = head(seq)[0]
    save_safetensors(os.path.join(d, "golden.safetensors"), golden)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    types = {"F32": torch.float32, "I64": torch.int64}
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[8 + n + s:8 + n + e]), dtype=types[v["dtype"]]).reshape(v["shape"])
    return out


def check_load(model_dir):
    """Loads an onestone model directory the way transformers' BertModel.from_pretrained does (the "bert."
    prefix stripped, every encoder tensor required, nothing else needed) and prints the [CLS] vector of a
    fixed input, so the C side can compare."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    state = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    encoder = {k[len("bert."):]: v for k, v in state.items() if k.startswith("bert.")}
    model = Bert(cfg, pooler="pooler.dense.weight" in encoder)
    missing, unexpected = model.load_state_dict(encoder, strict=False)
    if missing or unexpected:
        sys.exit("load mismatch: missing %s unexpected %s" % (missing, unexpected))
    ids = torch.tensor([[2, 7, 8, 9, 3]])
    with torch.no_grad():
        seq, _ = model(ids, torch.zeros_like(ids), torch.ones_like(ids))
    print(" ".join("%.7g" % x for x in seq[0, 0].tolist()))


def main():
    if sys.argv[1] == "--check-load":
        check_load(sys.argv[2])
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    multitask(out)
    hf_single(out, "hf_seqcls", "BertForSequenceClassification", "sequence", 3, "bert.", "weight_bias", True)
    hf_single(out, "hf_tokcls", "BertForTokenClassification", "token", 4, "bert.", "gamma_beta", False)
    hf_single(out, "hf_bare", "BertModel", None, 0, "", "weight_bias", True)
    predict_case(out)
    print("reference written to", out)


if __name__ == "__main__":
    main()
