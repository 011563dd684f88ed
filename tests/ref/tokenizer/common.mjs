// Shared helpers for the tokenizer reference scripts: where things are, the HF tokenizer.json built from a
// vocab.txt, and loading both references (transformers.js, and HF tokenizers' Rust core via its node binding).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const dataDir = process.env.ONESTONE_DATA || path.resolve(repoRoot, '../shared/data');
// npm install --ignore-scripts --prefix build-node-ref @huggingface/transformers@4.3.2 tokenizers@0.23.2
export const nodeRef = process.env.ONESTONE_NODE_REF || path.join(repoRoot, 'build-node-ref');
export const goldenDir = path.join(repoRoot, 'tests/data/tokenizer');

// The tokenizer.json HF ships for bert-base-uncased, rebuilt around a vocab.txt (ids = line numbers).
export function bertTokenizerJson(vocabPath, lowercase = true) {
  const lines = fs.readFileSync(vocabPath, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const vocab = {};
  lines.forEach((tok, i) => { if (!(tok in vocab)) vocab[tok] = i; });
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const added = special.filter((t) => t in vocab).map((t) => ({
    id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  })).sort((a, b) => a.id - b.id);
  const cls = vocab['[CLS]'], sep = vocab['[SEP]'];
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

// Writes tokenizer.json + tokenizer_config.json for bert-base-uncased into DIR (a scratch folder) and returns DIR.
export function writeModelDir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const tj = bertTokenizerJson(path.join(dataDir, 'vocab/bert-base-uncased/vocab.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
    do_lower_case: true, tokenizer_class: 'BertTokenizer', model_max_length: 512,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', mask_token: '[MASK]', unk_token: '[UNK]',
  }));
  return dir;
}

const require = createRequire(path.join(nodeRef, 'package.json'));

// transformers.js' tokenizer for the model directory (loaded from local files only).
export async function loadTransformersJs(dir) {
  const tf = await import(require.resolve('@huggingface/transformers'));
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = path.dirname(dir);
  return tf.AutoTokenizer.from_pretrained(path.basename(dir));
}

// HF tokenizers (Rust core) for the same tokenizer.json: offsets, word ids, pairs, truncation.
export function loadRustTokenizers(dir) {
  const { Tokenizer } = require('tokenizers');
  return Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
}

// Lines of a file split on \n only (a trailing \n ends the last line); bytes are kept as read.
export function fileLines(p) {
  const buf = fs.readFileSync(p);
  const out = [];
  let s = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) { out.push(buf.subarray(s, i)); s = i + 1; }
  if (s < buf.length) out.push(buf.subarray(s));
  return out;
}
