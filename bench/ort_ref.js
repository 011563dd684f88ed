// onnxruntime side of `make bench` (bench/run.sh): all-heads inference of the ONNX graph torch_ref.py
// exported from the same weights, on the same inputs. One JSON line: tokens/s (median pass), peak RSS.
// usage: node ort_ref.js ORT_MODULE_DIR DIR THREADS N WARMUP
'use strict';
const fs = require('fs');
const [modDir, dir, threadsArg, nArg, warmupArg] = process.argv.slice(2);
const ort = require(modDir);
const threads = Number(threadsArg), n = Number(nArg), warmup = Number(warmupArg);

function inputs() {
  const buf = fs.readFileSync(dir + '/inputs.bin');
  const raw = new Int32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const B = raw[0], T = raw[1];
  const ids = BigInt64Array.from(raw.subarray(3, 3 + B * T), (x) => BigInt(x));
  const off = 3 + 2 * B * T + 2 * B;
  const pair = BigInt64Array.from(raw.subarray(off, off + 2 * B), (x) => BigInt(x));
  return {
    B, T,
    feeds: {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
      pair_pos: new ort.Tensor('int64', pair, [B, 2]),
    },
  };
}

(async () => {
  const session = await ort.InferenceSession.create(dir + '/model.onnx', {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const { B, T, feeds } = inputs();
  const secs = [], cpu = [];
  for (let i = 0; i < warmup + n; i++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    await session.run(feeds);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9, dc = process.cpuUsage(c0);
    if (i >= warmup) secs.push(dt), cpu.push((dc.user + dc.system) / 1e6);
  }
  const median = (x) => {
    x.sort((a, b) => a - b);
    return x.length % 2 ? x[(x.length - 1) / 2] : 0.5 * (x[x.length / 2 - 1] + x[x.length / 2]);
  };
  const med = median(secs), cmed = median(cpu);
  // process.resourceUsage().maxRSS is in kilobytes, like getrusage's ru_maxrss.
  console.log(JSON.stringify({ impl: 'onnxruntime', mode: 'infer', threads, tokens_per_s: +(B * T / med).toFixed(1),
    median_s: +med.toFixed(4), cpu_tokens_per_s: +(B * T / cmed).toFixed(1), maxrss_kb: process.resourceUsage().maxRSS }));
})().catch((e) => { console.error('ort_ref: ' + e.message); process.exit(2); });
