#!/usr/bin/python3
"""PyTorch side of tests/test_prune.c: global L1 magnitude pruning with torch.nn.utils.prune.

usage: prune_ref.py SRC_MODEL_DIR PRUNED_MODEL_DIR SPARSITY
Loads the encoder blocks' six linear weights per layer from SRC (fp32), prunes the SPARSITY fraction of them
globally with prune.global_unstructured(L1Unstructured, amount=floor(SPARSITY * n)), and checks that exactly
the weights onestone zeroed in PRUNED are the ones torch's mask removes. Prints "same mask: K of N" or exits 1.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.utils.prune as prune

SUBS = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
        "intermediate.dense", "output.dense"]


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


def main():
    src, pruned, sparsity = sys.argv[1], sys.argv[2], float(sys.argv[3])
    a = read_safetensors(src + "/model.safetensors")
    b = read_safetensors(pruned + "/model.safetensors")
    names = sorted(k for k in a if k.startswith("bert.encoder.layer.") and k.endswith(".weight")
                   and any(s + ".weight" in k for s in SUBS))
    mods = []
    for k in names:
        lin = torch.nn.Linear(a[k].shape[1], a[k].shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(a[k])
        mods.append((lin, "weight"))
    n = sum(a[k].numel() for k in names)
    amount = int(math.floor(sparsity * n))
    prune.global_unstructured(mods, pruning_method=prune.L1Unstructured, amount=amount)
    removed = 0
    for k, (lin, _) in zip(names, mods):
        torch_zero = lin.weight_mask == 0
        ours_zero = b[k] == 0
        if not torch.equal(torch_zero, ours_zero):
            print("prune_ref.py: %s: %d positions differ" % (k, int((torch_zero != ours_zero).sum())))
            sys.exit(1)
        # Kept weights unchanged.
        if not torch.equal(b[k][~ours_zero], a[k][~ours_zero]):
            print("prune_ref.py: %s: kept weights changed" % k)
            sys.exit(1)
        removed += int(torch_zero.sum())
    print("same mask: %d of %d" % (removed, n))


if __name__ == "__main__":
    main()
