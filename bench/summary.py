#!/usr/bin/python3
"""Summarises bench/run.sh's results.jsonl: the median over rounds per (model, mode, program, threads), each
program's best thread setting, onestone's ratios against each reference's best, peak RSS, the sgemm peak and
onestone's training FLOP/s as a fraction of it.

usage: summary.py RESULTS.jsonl MINI_DIR BASE_DIR
FLOPs of a training token = 6 x non-embedding parameters + 12 x T x hidden x layers (attention scores and
weighted sums: forward 4 T C per layer and token, backward twice that).
"""
import json
import statistics
import struct
import sys
from collections import defaultdict


def train_flops_per_token(d, T):
    with open(d + "/config.json") as f:
        c = json.load(f)
    with open(d + "/model.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    params = 0
    for name, v in header.items():
        if name == "__metadata__" or "embeddings." in name and not "LayerNorm" in name:
            continue
        k = 1
        for s in v["shape"]:
            k *= s
        params += k
    return 6 * params + 12 * T * c["hidden_size"] * c["num_hidden_layers"], params


def main():
    path, dirs = sys.argv[1], {"mini": sys.argv[2], "base": sys.argv[3]}
    runs = defaultdict(list)
    cpu = defaultdict(list)
    rss = defaultdict(int)
    for line in open(path):
        r = json.loads(line)
        key = (r["model"], r["mode"], r["impl"], r["threads"])
        runs[key].append(r.get("tokens_per_s", r.get("gflops")))
        if "cpu_tokens_per_s" in r or "cpu_gflops" in r:
            cpu[key].append(r.get("cpu_tokens_per_s", r.get("cpu_gflops")))
        if "maxrss_kb" in r:
            rss[(r["model"], r["mode"], r["impl"])] = max(rss[(r["model"], r["mode"], r["impl"])], r["maxrss_kb"])
    med = {k: statistics.median(v) for k, v in runs.items()}
    sgemm = {th: med.get(("blas", "sgemm", "openblas", th), 0) for th in (1, 2)}
    print("\nsgemm peak (OpenBLAS): 1 thread %.1f GFLOP/s, 2 threads %.1f GFLOP/s" % (sgemm[1], sgemm[2]))

    def best(model, mode, impl):
        c = [(med[(model, mode, impl, th)], th) for th in (1, 2) if (model, mode, impl, th) in med]
        return max(c) if c else (0.0, 0)

    print("\n%-5s %-6s %-12s %12s %12s %8s %10s" % ("model", "mode", "program", "1 thread", "2 threads", "best", "peak RSS"))
    for model in ("mini", "base"):
        for mode in ("train", "infer"):
            for impl in ("onestone", "pytorch", "onnxruntime"):
                if (model, mode, impl, 1) not in med:
                    continue
                b, th = best(model, mode, impl)
                print("%-5s %-6s %-12s %10.0f/s %10.0f/s %8d %8.0f MB" % (
                    model, mode, impl, med[(model, mode, impl, 1)], med.get((model, mode, impl, 2), 0), th,
                    rss[(model, mode, impl)] / 1024))
    print("\nratios (onestone's best thread setting / the reference's best):")
    for model in ("mini", "base"):
        for mode in ("train", "infer"):
            o, oth = best(model, mode, "onestone")
            if not o:
                continue
            for ref in ("pytorch", "onnxruntime"):
                r, _ = best(model, mode, ref)
                if r:
                    print("  %s %s: onestone / %s = %.2fx   (peak RSS %.2fx)" % (
                        model, mode, ref, o / r, rss[(model, mode, "onestone")] / max(1, rss[(model, mode, ref)])))
            one, two = med.get((model, mode, "onestone", 1)), med.get((model, mode, "onestone", 2))
            if one and two:
                print("  %s %s: onestone 1 -> 2 threads speed-up %.2fx" % (model, mode, two / one))
    print("\n1 thread, tokens per CPU-second (process CPU time; steadier than the wall clock on a busy machine):")
    for model in ("mini", "base"):
        for mode in ("train", "infer"):
            o = cpu.get((model, mode, "onestone", 1))
            if not o:
                continue
            o = statistics.median(o)
            for ref in ("pytorch", "onnxruntime"):
                r = cpu.get((model, mode, ref, 1))
                if r:
                    print("  %s %s: onestone %.0f, %s %.0f: %.2fx" % (model, mode, o, ref, statistics.median(r),
                                                                   o / statistics.median(r)))
    print("\ntraining FLOP/s against the sgemm peak at the same thread count:")
    T = 128
    for model in ("mini", "base"):
        fpt, p = train_flops_per_token(dirs[model], T)
        for th in (1, 2):
            tps = med.get((model, "train", "onestone", th))
            if tps and sgemm[th]:
                gf = tps * fpt / 1e9
                print("  %s (%.1fM non-embedding params), %d thread(s): %.1f GFLOP/s = %.0f %% of sgemm" % (
                    model, p / 1e6, th, gf, 100 * gf / sgemm[th]))
        ctps, csg = cpu.get((model, "train", "onestone", 1)), cpu.get(("blas", "sgemm", "openblas", 1))
        if ctps and csg:
            gf, peak = statistics.median(ctps) * fpt / 1e9, statistics.median(csg)
            print("  %s, 1 thread, per CPU-second: %.1f GFLOP/s of %.1f (sgemm) = %.0f %%" % (model, gf, peak,
                                                                                          100 * gf / peak))


if __name__ == "__main__":
    main()
