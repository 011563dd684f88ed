#!/usr/bin/env python3
"""Golden values for onestone's linear-chain CRF (src/ops/crf.c), in plain PyTorch.

Usage: crf_golden.py OUTDIR

The CRF forward algorithm is written here the way pytorch-crf's `CRF` module writes it (time-major
recursion under a mask, torch.logsumexp), in float64, and autograd gives the gradients. Transition
constraints are applied by filling forbidden start/end/transition scores with -inf; the constraint masks are
built here independently of the C builders (the rules of docs/crf.md), so the test cross-checks those too.
Sequences of length 0 contribute 0 and are left out of the 'mean' count (pytorch-crf rejects them).

Writes OUTDIR/meta.json describing the cases and, per case NAME, raw little-endian files:
  NAME.emissions.f32 (B,T,K)  NAME.start.f32 (K)  NAME.end.f32 (K)  NAME.trans.f32 (K,K)
  NAME.tags.i32 (B,T)  NAME.lengths.i32 (B)                                  inputs
  NAME.nll.f32 (B)  NAME.loss.f32 (1)                                        per-sequence NLL, reduced loss
  NAME.demissions.f32  NAME.dstart.f32  NAME.dend.f32  NAME.dtrans.f32       d(loss)/d(input)
  NAME.viterbi.i32 (B,T)                                                     best allowed path, -1 padding
"""
import json
import os
import sys

import numpy as np
import torch

# (name, K labels, lengths, T, reduction, scheme)
CASES = [
    ("plain", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"], [9, 5, 1, 0], 9, "mean", "none"),
    ("bio", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], [8, 3, 6], 8, "token_mean", "bio"),
    ("iob1", ["O", "I-PER", "B-PER", "I-LOC", "B-LOC"], [7, 2, 7], 7, "sum", "iob1"),
    ("bioes", ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-ORG", "I-ORG", "E-ORG", "S-ORG"], [7, 4, 1], 7,
     "mean", "bioes"),
]


def scheme_masks(labels, scheme):
    """(allowed (K,K), allowed_start (K), allowed_end (K)) as bool tensors, per docs/crf.md."""
    K = len(labels)
    parsed = [("O", "") if l == "O" else (l[0], l[2:]) for l in labels]

    def ok(frm, to):  # frm/to None = sequence start/end
        if scheme == "none":
            return True
        if scheme == "bio":
            if to is None or to[0] != "I":
                return True
            return frm is not None and frm[0] in "BI" and frm[1] == to[1]
        if scheme == "iob1":
            if to is None or to[0] != "B":
                return True
            return frm is not None and frm[0] in "BI" and frm[1] == to[1]
        if scheme == "bioes":
            inside = frm is not None and frm[0] in "BI"
            if to is None:
                return not inside
            if to[0] in "IE":
                return inside and frm[1] == to[1]
            return not inside
        raise ValueError(scheme)

    allowed = torch.tensor([[ok(parsed[i], parsed[j]) for j in range(K)] for i in range(K)])
    start = torch.tensor([ok(None, parsed[k]) for k in range(K)])
    end = torch.tensor([ok(parsed[k], None) for k in range(K)])
    return allowed, start, end


def sample_path(gen, n, allowed, start, end):
    """A uniformly random walk over allowed moves that ends on an allowed end tag (rejection)."""
    K = allowed.shape[0]
    while True:
        cands = [k for k in range(K) if start[k]]
        path = [cands[int(torch.randint(len(cands), (1,), generator=gen))]]
        for _ in range(1, n):
            cands = [k for k in range(K) if allowed[path[-1], k]]
            path.append(cands[int(torch.randint(len(cands), (1,), generator=gen))])
        if end[path[-1]]:
            return path


def crf_nll(em, tags, mask, start, end, trans):
    """Per-sequence NLL, pytorch-crf style. em (T,B,K), tags (T,B), mask (T,B) bool with mask[0] all on."""
    T, B, K = em.shape
    ar = torch.arange(B)
    # _compute_score
    score = start[tags[0]] + em[0, ar, tags[0]]
    for i in range(1, T):
        score = score + torch.where(mask[i], trans[tags[i - 1], tags[i]] + em[i, ar, tags[i]],
                                    torch.zeros((), dtype=em.dtype))
    seq_ends = mask.long().sum(0) - 1
    score = score + end[tags[seq_ends, ar]]
    # _compute_normalizer
    alpha = start + em[0]
    for i in range(1, T):
        nxt = torch.logsumexp(alpha.unsqueeze(2) + trans + em[i].unsqueeze(1), dim=1)
        alpha = torch.where(mask[i].unsqueeze(1), nxt, alpha)
    logz = torch.logsumexp(alpha + end, dim=1)
    return logz - score


def viterbi(em, mask, start, end, trans):
    """Best path per sequence (pytorch-crf's _viterbi_decode), as lists."""
    T, B, K = em.shape
    score = start + em[0]
    history = []
    for i in range(1, T):
        nxt, idx = (score.unsqueeze(2) + trans + em[i].unsqueeze(1)).max(dim=1)
        score = torch.where(mask[i].unsqueeze(1), nxt, score)
        history.append(idx)
    score = score + end
    seq_ends = mask.long().sum(0) - 1
    out = []
    for b in range(B):
        best = int(score[b].argmax())
        path = [best]
        for hist in reversed(history[: int(seq_ends[b])]):
            best = int(hist[b][path[-1]])
            path.append(best)
        out.append(path[::-1])
    return out


def write(path, tensor, dtype):
    np.ascontiguousarray(tensor.detach().cpu().numpy().astype("<" + dtype)).tofile(path)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: crf_golden.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    meta = []
    for name, labels, lengths, T, reduction, scheme in CASES:
        K, B = len(labels), len(lengths)
        allowed, astart, aend = scheme_masks(labels, scheme)
        # Inputs are float32 values; the computation runs in float64 on them.
        em = (torch.randn(B, T, K, generator=gen) * 2).float().double().requires_grad_()
        start = (torch.randn(K, generator=gen) * 0.5).float().double().requires_grad_()
        end = (torch.randn(K, generator=gen) * 0.5).float().double().requires_grad_()
        trans = (torch.randn(K, K, generator=gen) * 0.5).float().double().requires_grad_()
        tags = torch.zeros(B, T, dtype=torch.long)
        for b, n in enumerate(lengths):
            if n:
                tags[b, :n] = torch.tensor(sample_path(gen, n, allowed, astart, aend))
        lens = torch.tensor(lengths)
        nonempty = lens > 0
        mask = torch.arange(T).unsqueeze(1) < lens.clamp(min=1).unsqueeze(0)  # (T,B); empty rows act as length 1

        neg_inf = torch.tensor(float("-inf"), dtype=torch.float64)
        s_eff = torch.where(astart, start, neg_inf)
        e_eff = torch.where(aend, end, neg_inf)
        t_eff = torch.where(allowed, trans, neg_inf)
        em_tm = em.transpose(0, 1)
        nll = crf_nll(em_tm, tags.t(), mask, s_eff, e_eff, t_eff)
        nll = torch.where(nonempty, nll, torch.zeros((), dtype=nll.dtype))
        if reduction == "mean":
            loss = nll.sum() / nonempty.sum()
        elif reduction == "token_mean":
            loss = nll.sum() / lens.sum()
        else:
            loss = nll.sum()
        loss.backward()
        paths = viterbi(em_tm.detach(), mask, s_eff.detach(), e_eff.detach(), t_eff.detach())
        vit = torch.full((B, T), -1, dtype=torch.int32)
        for b, n in enumerate(lengths):
            if n:
                vit[b, :n] = torch.tensor(paths[b][:n], dtype=torch.int32)

        p = lambda suffix: os.path.join(outdir, f"{name}.{suffix}")
        write(p("emissions.f32"), em, "f4")
        write(p("start.f32"), start, "f4")
        write(p("end.f32"), end, "f4")
        write(p("trans.f32"), trans, "f4")
        write(p("tags.i32"), tags, "i4")
        write(p("lengths.i32"), lens, "i4")
        write(p("nll.f32"), nll, "f4")
        write(p("loss.f32"), loss.reshape(1), "f4")
        write(p("demissions.f32"), em.grad, "f4")
        write(p("dstart.f32"), start.grad, "f4")
        write(p("dend.f32"), end.grad, "f4")
        write(p("dtrans.f32"), trans.grad, "f4")
        write(p("viterbi.i32"), vit, "i4")
        meta.append({"name": name, "B": B, "T": T, "K": K, "reduction": reduction, "scheme": scheme,
                     "labels": labels})
    with open(os.path.join(outdir, "meta.json"), "w") as f:
        json.dump({"cases": meta}, f, indent=1)


if __name__ == "__main__":
    main()
