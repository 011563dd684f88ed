#!/usr/bin/python3
"""PyTorch side of the safetensors interop test (tests/test_safetensors.c).

The `safetensors` package is not assumed: this is a small reader/writer with struct + json + torch.frombuffer
that applies HF's own strict rules (8-byte padded header, contiguous offsets covering the whole buffer).

usage: safetensors_ref.py IN OUT
  IN   a file written by onestone's writer; checked against the values the C test wrote
  OUT  written here in HF's layout (sorted by dtype size then name) with F16/BF16/F64/I32 tensors and, for
       each float one, torch's own float32 conversion of it ("NAME_as_f32") for the C reader to match
"""
import json
import math
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}


def fail(msg):
    print("safetensors_ref.py: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8:
        fail(f"{path}: header length {n} is not a multiple of 8")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    tensors, spans = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        spans.append((begin, end, name))
        dtype, shape = DTYPES[info["dtype"]], info["shape"]
        if begin == end:
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape)
    # HF's validation: offsets contiguous from 0 and covering the whole buffer.
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            fail(f"{path}: tensor {name} starts at {begin}, expected {pos} (HF requires contiguous data)")
        pos = end
    if pos != len(data):
        fail(f"{path}: tensors cover {pos} of {len(data)} data bytes")
    return tensors, meta


def save(path, tensors, meta):
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, pos = {"__metadata__": meta}, [], 0
    for name, t in items:
        b = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check_ours(path):
    t, meta = load(path)
    if meta != {"format": "pt", "note": "written by onestone"}:
        fail(f"{path}: metadata {meta}")
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1.0
    if t["w"].dtype != torch.float32 or not torch.equal(t["w"], w):
        fail(f"{path}: w = {t['w']}")
    if t["scalar"].shape != () or t["scalar"].item() != 3.25:
        fail(f"{path}: scalar = {t['scalar']}")
    if t["empty"].shape != (0, 4) or t["empty"].dtype != torch.float32:
        fail(f"{path}: empty has shape {tuple(t['empty'].shape)}")
    if t["position_ids"].dtype != torch.int64 or t["position_ids"].tolist() != [[0, 1, 2, 3, 4]]:
        fail(f"{path}: position_ids = {t['position_ids']}")


def main():
    if len(sys.argv) != 3:
        fail(__doc__.strip().splitlines()[2])
    check_ours(sys.argv[1])
    inf, nan = math.inf, math.nan
    vals = [0.0, -0.0, 1.0, -2.5, 65504.0, 65520.0, 1e-7, 6e-8, 2.0**-24, 2.0**-14, 3e-5, 0.1, 1 / 3,
            -1e-6, inf, -inf, nan, 1e38, 3e38, 1e-40, 9.2e-41, -7.5]
    out = {}
    for name, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16), ("f64", torch.float64)):
        t = torch.tensor(vals, dtype=torch.float64).to(dtype).reshape(2, 11)
        out[name] = t
        out[name + "_as_f32"] = t.float()
    big = torch.tensor([1e39, -1e39, 3.4028235677973366e38, 3.4028235e38, 1e-50], dtype=torch.float64)
    out["f64_big"], out["f64_big_as_f32"] = big, big.float()
    out["i32"] = torch.tensor([-3, 0, 7, 2**31 - 1], dtype=torch.int32)
    save(sys.argv[2], out, {"format": "pt"})


if __name__ == "__main__":
    main()
