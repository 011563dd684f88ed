"""BERT encoder in plain PyTorch with HuggingFace's module and state_dict names (embeddings.word_embeddings.weight,
encoder.layer.N.attention.self.query.weight, ..., pooler.dense.weight), computed as HF's eager BertModel does
(separate q/k/v linears, matmul attention with an additive mask, exact erf GELU, post-LayerNorm residuals).

One copy for every PyTorch reference: tests/ref/bert_reference.py (parity goldens, and mlm_reference.py through
it), scripts/reference/mtl_reference.py (the training recipe) and bench/torch_ref.py (the benchmark's PyTorch
side). It lives in tests/ref/ beside the other reference helpers (safetensors_ref, metrics_ref, crf_golden) that
the scripts outside tests/ already import from here by putting this folder on sys.path.

Two settings differ between the callers, so the config dict `c` (HF's config.json keys) decides them:
  - dropout: c["hidden_dropout_prob"] after the embeddings and each dense layer, c["attention_probs_dropout_prob"]
    on the attention probabilities, in training mode only; Bert(..., dropout=False) sets both to 0, and a
    probability of 0 returns its input untouched (the parity goldens need no dropout whatever the config says);
  - the pad row: Bert(..., pad_row_frozen=True) gives the word embeddings padding_idx=c["pad_token_id"] as HF
    does, so the [PAD] row gets no gradient; False leaves it an ordinary trainable row (onestone's trainer
    updates it like every other row, and mtl_reference reproduces that).
One more option keeps bench/torch_ref.py on HF's arithmetic to the last bit: hf_sum_order=True adds the
token-type rows before the position rows as HF's BertEmbeddings does; the parity references add positions first,
and float addition is not associative, so each keeps the order its recorded numbers came from.
Parameters are registered in HF's order (the order the optimisers and gradient norms walk them).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Embeddings(nn.Module):
    def __init__(self, c, hf_sum_order=False):
        super().__init__()
        self.hf_sum_order = hf_sum_order
        h = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], h, padding_idx=c.get("pad_token_id"))
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        word, position = self.word_embeddings(ids), self.position_embeddings(pos)
        token_type = self.token_type_embeddings(types)
        x = word + token_type + position if self.hf_sum_order else word + position + token_type
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, ext_mask):
        B, T, C = x.shape
        hs = C // self.nh
        split = lambda t: t.view(B, T, self.nh, hs).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probs = self.dropout((q @ k.transpose(-1, -2) / math.sqrt(hs) + ext_mask).softmax(-1))
        return (probs @ v).permute(0, 2, 1, 3).reshape(B, T, C)


class DenseLN(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.dense = nn.Linear(cin, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseLN(c["hidden_size"], c)

    def forward(self, x, m):
        return self.output(self.self(x, m), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return F.gelu(self.dense(x))  # exact erf GELU, HF "gelu"


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseLN(c["intermediate_size"], c)

    def forward(self, x, m):
        a = self.attention(x, m)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, seq):
        return torch.tanh(self.dense(seq[:, 0]))


class Bert(nn.Module):
    """forward(ids, types, mask) -> (sequence output, pooled [CLS] vector or None without a pooler)."""

    def __init__(self, c, pooler=True, dropout=True, pad_row_frozen=True, hf_sum_order=False):
        super().__init__()
        c = dict(c)
        if not dropout:
            c["hidden_dropout_prob"] = c["attention_probs_dropout_prob"] = 0.0
        if not pad_row_frozen:
            c["pad_token_id"] = None
        self.embeddings = Embeddings(c, hf_sum_order)
        self.encoder = Encoder(c)
        if pooler:
            self.pooler = Pooler(c)

    def forward(self, ids, types, mask):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.embeddings(ids, types)
        for layer in self.encoder.layer:
            x = layer(x, ext)
        return x, (self.pooler(x) if hasattr(self, "pooler") else None)
