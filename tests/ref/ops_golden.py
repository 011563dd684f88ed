#!/usr/bin/env python3
"""PyTorch goldens for the operator kernels (src/ops): tests/test_ops_torch.c runs this script, then
compares onestone's forward and backward of every op against the files it writes.

usage: /usr/bin/python3 tests/ref/ops_golden.py OUTDIR

Every tensor goes to OUTDIR/NAME.bin as raw little-endian float32 (int tensors: int32). The sizes below
are mirrored in tests/test_ops_torch.c, which checks every file's length.
"""
import math
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # torch is a required test dependency (scripts/setup.sh installs it)
    sys.stderr.write("ops_golden.py: cannot import %s: install python3-torch and python3-numpy "
                     "(scripts/setup.sh)\n" % e.name)
    sys.exit(2)

B, T, NH, HS = 3, 37, 3, 16     # three sequences of 37 tokens, 3 heads of 16
C = NH * HS                      # hidden 48
LENS = [37, 21, 0]               # real tokens per sequence (the last one is all padding)
N = B * T
V, P, TV = 50, 40, 2             # embedding tables: vocab, positions, token types
OC = 40                          # linear output channels
SM_C = 37                        # softmax row length
CE_C = 7                         # cross-entropy classes
DROP_P = 0.1
LN_EPS = 1e-12                   # HF BERT's layer_norm_eps


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.RandomState(1234)

    def save(name, t, dtype="<f4"):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        np.ascontiguousarray(a, dtype=dtype).tofile(os.path.join(out_dir, name + ".bin"))

    def leaf(a):
        return torch.tensor(np.asarray(a, dtype=np.float32), requires_grad=True)

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def backward(out, name):
        dout = normal(*out.shape)
        save(name + "_dout", dout)
        out.backward(torch.from_numpy(dout))

    # embeddings: (wte[ids] + wtt[type_ids]) + wpe[t], HF BertEmbeddings order
    ids = rng.randint(0, V, size=(B, T)).astype(np.int32)
    ids[:, :5] = 3  # repeated ids: the backward must add them up
    type_ids = rng.randint(0, TV, size=(B, T)).astype(np.int32)
    wte, wpe, wtt = leaf(normal(V, C)), leaf(normal(P, C)), leaf(normal(TV, C))
    pos = torch.arange(T).unsqueeze(0).expand(B, T)
    out = F.embedding(torch.from_numpy(ids).long(), wte) + F.embedding(torch.from_numpy(type_ids).long(), wtt)
    out = out + F.embedding(pos, wpe)
    backward(out, "emb")
    for name, t in [("emb_ids", ids), ("emb_type_ids", type_ids)]:
        save(name, t, "<i4")
    for name, t in [("emb_wte", wte), ("emb_wpe", wpe), ("emb_wtt", wtt), ("emb_out", out),
                    ("emb_dwte", wte.grad), ("emb_dwpe", wpe.grad), ("emb_dwtt", wtt.grad)]:
        save(name, t)

    # LayerNorm (eps 1e-12), with a shifted mean to exercise the moments
    x = leaf(normal(N, C) * 2.0 + 0.5)
    w, b = leaf(1.0 + normal(C, scale=0.1)), leaf(normal(C, scale=0.1))
    out, mean, rstd = torch.ops.aten.native_layer_norm(x, [C], w, b, LN_EPS)
    backward(out, "ln")
    for name, t in [("ln_x", x), ("ln_w", w), ("ln_b", b), ("ln_out", out), ("ln_mean", mean.reshape(N)),
                    ("ln_rstd", rstd.reshape(N)), ("ln_dx", x.grad), ("ln_dw", w.grad), ("ln_db", b.grad)]:
        save(name, t)

    # linear
    x, w, b = leaf(normal(N, C)), leaf(normal(OC, C, scale=0.2)), leaf(normal(OC))
    out = F.linear(x, w, b)
    backward(out, "lin")
    for name, t in [("lin_x", x), ("lin_w", w), ("lin_b", b), ("lin_out", out), ("lin_dx", x.grad),
                    ("lin_dw", w.grad), ("lin_db", b.grad)]:
        save(name, t)

    # exact GELU and tanh over a wide range
    grid = np.linspace(-8.0, 8.0, N * C).astype(np.float32)
    x = leaf(grid + normal(N * C, scale=0.01))
    out = F.gelu(x)
    backward(out, "gelu")
    for name, t in [("gelu_x", x), ("gelu_out", out), ("gelu_dx", x.grad)]:
        save(name, t)
    x = leaf(grid * 0.5)
    out = torch.tanh(x)
    backward(out, "tanh")
    for name, t in [("tanh_x", x), ("tanh_out", out), ("tanh_dx", x.grad)]:
        save(name, t)

    # softmax
    x = leaf(normal(N, SM_C, scale=4.0))
    out = F.softmax(x, dim=-1)
    backward(out, "sm")
    for name, t in [("sm_x", x), ("sm_out", out), ("sm_dx", x.grad)]:
        save(name, t)

    # attention core exactly as HF BertSelfAttention after the projections, additive finfo.min mask
    mask = np.zeros((B, T), dtype=np.int32)
    for i, n in enumerate(LENS):
        mask[i, :n] = 1
    qn, kn, vn, don = normal(B, T, C), normal(B, T, C), normal(B, T, C), normal(B, T, C)
    keep = (rng.uniform(size=(B, NH, T, T)) >= DROP_P).astype(np.int32)
    save("att_mask", mask, "<i4")
    save("att_keep", keep, "<i4")
    save("att_dout", don)
    for prefix, use_keep in [("att", False), ("attd", True)]:
        q, k, v = leaf(qn), leaf(kn), leaf(vn)

        def heads(t):
            return t.view(B, T, NH, HS).permute(0, 2, 1, 3)

        scores = torch.matmul(heads(q), heads(k).transpose(-1, -2)) / math.sqrt(HS)
        ext = (1.0 - torch.from_numpy(mask).float()[:, None, None, :]) * torch.finfo(torch.float32).min
        probs = F.softmax(scores + ext, dim=-1)
        used = probs
        if use_keep:  # torch's dropout: x * (bernoulli / (1 - p))
            used = probs * (torch.from_numpy(keep).float() / (1.0 - DROP_P))
        out = torch.matmul(used, heads(v)).permute(0, 2, 1, 3).reshape(B, T, C)
        out.backward(torch.from_numpy(don))
        if not use_keep:
            for name, t in [("att_q", q), ("att_k", k), ("att_v", v), ("att_probs", probs)]:
                save(name, t)
        for name, t in [("_out", out), ("_dq", q.grad), ("_dk", k.grad), ("_dv", v.grad)]:
            save(prefix + name, t)

    # dropout backward with a given mask, and the residual add
    x = leaf(normal(N, C))
    dkeep = (rng.uniform(size=(N, C)) >= DROP_P).astype(np.int32)
    out = x * (torch.from_numpy(dkeep).float() / (1.0 - DROP_P))
    backward(out, "drop")
    save("drop_keep", dkeep, "<i4")
    for name, t in [("drop_x", x), ("drop_out", out), ("drop_dx", x.grad)]:
        save(name, t)
    a, b = leaf(normal(N, C)), leaf(normal(N, C))
    out = a + b
    backward(out, "res")
    for name, t in [("res_a", a), ("res_b", b), ("res_out", out), ("res_da", a.grad), ("res_db", b.grad)]:
        save(name, t)

    # losses (backward of the mean loss, scale 1)
    logits = leaf(normal(N, CE_C, scale=3.0))
    targets = rng.randint(0, CE_C, size=N).astype(np.int32)
    targets[::4] = -100
    loss = F.cross_entropy(logits, torch.from_numpy(targets).long(), ignore_index=-100)
    loss.backward()
    save("ce_targets", targets, "<i4")
    for name, t in [("ce_logits", logits), ("ce_loss", loss.reshape(1)), ("ce_dlogits", logits.grad)]:
        save(name, t)
    pred, target = leaf(normal(N)), torch.from_numpy(normal(N))
    loss = F.mse_loss(pred, target)
    loss.backward()
    for name, t in [("mse_pred", pred), ("mse_target", target), ("mse_loss", loss.reshape(1)),
                    ("mse_dpred", pred.grad)]:
        save(name, t)
    logits = leaf(normal(3 * N, scale=5.0))
    logits.data[:4] = torch.tensor([60.0, -60.0, 0.0, 1e-3])  # saturated and central values
    target = torch.from_numpy(rng.uniform(size=3 * N).astype(np.float32))
    loss = F.binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    for name, t in [("bce_logits", logits), ("bce_target", target), ("bce_loss", loss.reshape(1)),
                    ("bce_dlogits", logits.grad)]:
        save(name, t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
