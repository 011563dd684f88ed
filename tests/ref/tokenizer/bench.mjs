// transformers.js throughput on a text file, one text per line (the counterpart of `onestone tokenize --bench`):
//   node tests/ref/tokenizer/bench.mjs FILE [REPEAT]
// prints {"bytes","lines","tokens","repeat","seconds","mb_per_s"} (MB = 10^6 bytes, single thread, encode only).
import fs from 'node:fs';
import path from 'node:path';
import { nodeRef, writeModelDir, loadTransformersJs } from './common.mjs';

const file = process.argv[2];
const repeat = Number(process.argv[3] || 1);
const buf = fs.readFileSync(file);
const lines = buf.toString('utf8').split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const tok = await loadTransformersJs(writeModelDir(path.join(nodeRef, 'models/bert-base-uncased')));
for (let i = 0; i < Math.min(2000, lines.length); i++) tok.encode(lines[i]);  // warm up the JIT
let tokens = 0;
const t0 = process.hrtime.bigint();
for (let r = 0; r < repeat; r++) for (const l of lines) tokens += tok.encode(l).length;
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ bytes: buf.length, lines: lines.length, tokens: tokens / repeat, repeat, seconds: +secs.toFixed(4),
  mb_per_s: +((buf.length * repeat) / secs / 1e6).toFixed(2) }));
