// The texts of the shared corpora the tokenizer goldens cover. tests/test_tokenizer_golden.c extracts the
// same texts in the same order (keep the two in step):
//   conll2003: eng.train then eng.testa, one text per sentence (blank-line separated; the first field of each
//              line is the word; -DOCSTART- counts as a sentence), words joined by single spaces;
//   semeval2010_task8/TRAIN_FILE.TXT, sst2/train.tsv, wikitext2_raw/wiki.valid.raw then wiki.test.raw:
//              every line, split on \n only (a \r stays in the text; a final \n does not start a line).
import path from 'node:path';
import { dataDir, fileLines } from './common.mjs';

export const CORPORA = [
  { name: 'conll2003', files: ['conll2003/eng.train', 'conll2003/eng.testa'], kind: 'conll' },
  { name: 'semeval2010_task8', files: ['semeval2010_task8/TRAIN_FILE.TXT'], kind: 'lines' },
  { name: 'sst2', files: ['sst2/train.tsv'], kind: 'lines' },
  { name: 'wikitext2', files: ['wikitext2_raw/wiki.valid.raw', 'wikitext2_raw/wiki.test.raw'], kind: 'lines' },
];

// [{ bytes: Buffer, words: [string] | null }] for one corpus.
export function corpusTexts(corpus) {
  const out = [];
  for (const f of corpus.files) {
    const lines = fileLines(path.join(dataDir, f));
    if (corpus.kind === 'lines') {
      for (const l of lines) out.push({ bytes: l, words: null });
      continue;
    }
    let words = [];
    const flush = () => {
      if (words.length) out.push({ bytes: Buffer.from(words.join(' ')), words });
      words = [];
    };
    for (const l of lines) {
      const s = l.toString('utf8');
      if (s.trim() === '') flush();
      else words.push(s.split(' ')[0]);
    }
    flush();
  }
  return out;
}
