// Regenerates tests/data/tokenizer/ from the reference implementations (see docs/tokenizer.md):
//   npm install --ignore-scripts --prefix build-node-ref @huggingface/transformers@4.3.2 tokenizers@0.23.2
//   node tests/ref/tokenizer/make_goldens.mjs
// transformers.js gives the ids (the reference); HF tokenizers' Rust core (npm "tokenizers") gives offsets,
// word ids, pairs, truncation and padding, used wherever its ids agree with transformers.js.
import fs from 'node:fs';
import path from 'node:path';
import { goldenDir, nodeRef, writeModelDir, loadTransformersJs, loadRustTokenizers } from './common.mjs';
import { CORPORA, corpusTexts } from './corpora.mjs';

// FNV-1a 64 over the little-endian 32-bit words of `ints` (negative = two's complement), as 16 hex digits.
export function fnv64(ints) {
  let hi = 0xcbf29ce4, lo = 0x84222325;
  for (const v of ints) {
    const u = v >>> 0;
    for (let k = 0; k < 4; k++) {
      lo = (lo ^ ((u >>> (8 * k)) & 0xff)) >>> 0;
      const p = lo * 0x1b3;  // h * (2^40 + 0x1b3) mod 2^64, in 32-bit halves
      const carry = Math.floor(p / 4294967296);
      hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
      lo = p >>> 0;
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

// What the C side hashes for offsets checks: id, char start, char end, word id (-1 for none) per token.
function rustRecord(e) {
  const ids = e.getIds(), off = e.getOffsets(), w = e.getWordIds();
  const out = [];
  ids.forEach((id, i) => out.push(id, off[i][0], off[i][1], w[i] ?? -1));
  return out;
}

function rustJson(e) {
  return { ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask(),
    offsets: e.getOffsets(), word_ids: e.getWordIds().map((x) => x ?? -1) };
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === Number(b[i]));

// HF is_split_into_words, which this node binding cannot take directly: each word on its own (no specials),
// offsets inside the word, word id = index; then [CLS] ... [SEP].
async function rustWords(rt, words, cls, sep) {
  const ids = [cls], off = [[0, 0]], wid = [-1];
  for (let i = 0; i < words.length; i++) {
    const e = await rt.encode(words[i], null, { addSpecialTokens: false });
    e.getIds().forEach((id, k) => { ids.push(id); off.push(e.getOffsets()[k]); wid.push(i); });
  }
  ids.push(sep); off.push([0, 0]); wid.push(-1);
  return { ids, offsets: off, word_ids: wid };
}

function unescape(line) {
  const parts = line.split(/(\\x[0-9a-fA-F]{2}|\\[tnr\\])/);
  const map = { '\\t': 9, '\\n': 10, '\\r': 13, '\\\\': 92 };
  return Buffer.concat(parts.map((p, i) => {
    if (i % 2 === 0) {
      if (p.includes('\\')) throw new Error(`bad escape in ${line}`);
      return Buffer.from(p, 'utf8');
    }
    return Buffer.from([p[1] === 'x' ? parseInt(p.slice(2), 16) : map[p]]);
  }));
}

// tests/data/tokenizer/adversarial.txt: one case per line, lines starting with "# " are comments, escapes
// \xHH \t \n \r \\ (the file itself is valid UTF-8; invalid input bytes are escaped). Node decodes invalid
// UTF-8 with the WHATWG rule, as src/tokenizer/utf8.c does.
export function adversarialCases() {
  const src = fs.readFileSync(path.join(goldenDir, 'adversarial.txt'), 'utf8').split('\n');
  if (src.length && src[src.length - 1] === '') src.pop();
  return src.filter((l) => !l.startsWith('# ')).map(unescape);
}

async function main() {
  const dir = writeModelDir(path.join(nodeRef, 'models/bert-base-uncased'));
  const tj = await loadTransformersJs(dir);
  const rt = loadRustTokenizers(dir);
  const [cls, sep] = tj.convert_tokens_to_ids(['[CLS]', '[SEP]']);
  const jsIds = (text, pair) => Array.from(tj.encode(text, pair === undefined ? {} : { text_pair: pair }));

  // 1. adversarial cases: full ids, pieces, and the Rust core's offsets / word ids
  const adv = [];
  let advAgree = 0;
  const cases = adversarialCases();
  for (const buf of cases) {
    const text = buf.toString('utf8');
    const ids = jsIds(text);
    const r = await rt.encode(text);
    const agree = same(ids, r.getIds());
    advAgree += agree;
    adv.push(JSON.stringify({ js: ids, pieces: tj.convert_ids_to_tokens ? tj.convert_ids_to_tokens(ids) : r.getTokens(), rust: rustJson(r), agree }));
  }
  fs.writeFileSync(path.join(goldenDir, 'adversarial.golden.jsonl'), adv.join('\n') + '\n');
  console.log(`adversarial: ${cases.length} cases, Rust core agrees with transformers.js on ${advAgree}`);

  // 2. features: pairs (both references), truncation + padding (Rust core), pre-split words (Rust core)
  const texts = cases.map((b) => b.toString('utf8')).filter((s, i) => Buffer.from(s).equals(cases[i]) && s.length < 300);
  const sentences = [
    'The quick brown fox jumps over the lazy dog.',
    'Hello there',
    'General Kenobi! You are a bold one.',
    'a b c d e f g h i j k l m n o p',
    'x',
    '',
    'Über-naïve café owners in Zürich didn\'t close.',
    '东京 is in 日本',
  ];
  const feats = [];
  for (let i = 0; i < texts.length; i += 3) sentences.push(texts[i]);
  for (let i = 0; i < sentences.length; i++) {
    const a = sentences[i], b = sentences[(i * 7 + 3) % sentences.length];
    const r = await rt.encode(a, b);
    feats.push({ kind: 'pair', a, b, js: jsIds(a, b), rust: rustJson(r) });
  }
  const strategies = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };
  const pairs = [[0, null], [3, null], [0, 3], [3, 2], [1, 2], [6, 0], [4, 3], [5, 0], [7, 6]];
  for (const [ia, ib] of pairs)
    for (const max of [4, 7, 12, 20])
      for (const [strategy, rname] of Object.entries(strategies))
        for (const pad of [null, { max: true, multiple: 0 }, { max: false, multiple: 8 }, { max: true, multiple: 5 }]) {
          if (ib === null && strategy === 'only_second') continue;
          rt.setTruncation(max, { strategy: rname });
          if (pad) rt.setPadding({ maxLength: pad.max ? max : undefined, padToMultipleOf: pad.multiple || undefined });
          else rt.disablePadding();
          const a = sentences[ia], b = ib === null ? null : sentences[ib];
          let rust = null;
          try { rust = rustJson(await rt.encode(a, b)); } catch (err) { rust = { error: String(err.message || err) }; }
          feats.push({ kind: 'truncate', a, b, max_length: max, strategy, pad_max: pad ? pad.max : false,
            pad_multiple: pad ? pad.multiple : 0, rust });
        }
  rt.disableTruncation();
  rt.disablePadding();
  for (const s of sentences) {
    const words = s.split(' ');
    const r = await rustWords(rt, words, cls, sep);
    feats.push({ kind: 'words', words, js: jsIds(s), rust: r });
  }
  fs.writeFileSync(path.join(goldenDir, 'features.golden.jsonl'), feats.map((f) => JSON.stringify(f)).join('\n') + '\n');
  console.log(`features: ${feats.length} records`);

  // 3. corpora: one line per text: js-hash n [rust-hash|-] [words-hash|-]
  for (const c of CORPORA) {
    const items = corpusTexts(c);
    const rustToo = c.name === 'conll2003' || c.name === 'semeval2010_task8';
    const lines = [`# ${c.name}: ${c.files.join(' ')}; ${items.length} texts; fields: ids-fnv64 n-ids` +
      (rustToo ? ' rust(ids,char-offsets,word-ids)-fnv64' : '') + (c.kind === 'conll' ? ' words(...)-fnv64' : '')];
    let rustAgree = 0, wordsAgree = 0;
    const BATCH = 2000;
    for (let s = 0; s < items.length; s += BATCH) {
      const chunk = items.slice(s, s + BATCH);
      const strs = chunk.map((it) => it.bytes.toString('utf8'));
      const rs = await rt.encodeBatch(strs);
      for (let k = 0; k < chunk.length; k++) {
        const ids = jsIds(strs[k]);
        let line = `${fnv64(ids)} ${ids.length}`;
        const agree = same(ids, rs[k].getIds());
        rustAgree += agree;
        if (rustToo) line += ' ' + (agree ? fnv64(rustRecord(rs[k])) : '-');
        if (c.kind === 'conll') {
          const w = await rustWords(rt, chunk[k].words, cls, sep);
          const wa = same(ids, w.ids);
          wordsAgree += wa;
          const rec = [];
          w.ids.forEach((id, i) => rec.push(id, w.offsets[i][0], w.offsets[i][1], w.word_ids[i]));
          line += ' ' + (wa ? fnv64(rec) : '-');
        }
        lines.push(line);
      }
    }
    fs.writeFileSync(path.join(goldenDir, `golden_${c.name}.txt`), lines.join('\n') + '\n');
    console.log(`${c.name}: ${items.length} texts; Rust core ids agree on ${rustAgree}` +
      (c.kind === 'conll' ? `; pre-split words agree on ${wordsAgree}` : ''));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
