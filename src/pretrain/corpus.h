// Raw-text corpora for masked-LM pretraining, streamed and packed (HF run_mlm's group_texts):
//   1. every file is read `chunk_bytes` at a time (the corpus is never held in memory) and split into
//      lines; a line longer than `max_line_bytes` is cut at its last space before that size;
//   2. each non-blank line is tokenized as `[CLS] pieces [SEP]` (what HF's tokenizer gives with special
//      tokens; HF also keeps blank lines as [CLS][SEP], we skip them);
//   3. the token streams of all lines, in file order, are concatenated and cut into blocks of exactly
//      block_len ids; the tail that does not fill a block is dropped (as in HF).
// The blocks go to a block file (a small header + int32 ids), which training reads block by block.
#ifndef ONESTONE_PRETRAIN_CORPUS_H
#define ONESTONE_PRETRAIN_CORPUS_H
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

typedef struct {
    size_t chunk_bytes;     // read size (default 1 MiB)
    size_t max_line_bytes;  // longest line tokenized at once (default 1 MiB)
} os_corpus_options;

typedef struct {
    size_t n_blocks, n_lines, n_tokens;  // blocks written, lines tokenized, tokens in the blocks
    size_t dropped_tokens;               // the final partial block
} os_corpus_stats;

// Packs the files into blocks of block_len ids and writes them to block_path (atomically).
os_status os_corpus_pack(const os_tokenizer *tok, char *const *files, int n_files, int block_len,
                         const os_corpus_options *opts, const char *block_path, os_corpus_stats *stats);

// A block file opened for reading.
typedef struct {
    void *fp;  // FILE*
    char *path;
    int block_len;
    size_t n_blocks;
} os_block_file;

// Opens a block file written by os_corpus_pack; fails when it is not one or its block length differs.
os_status os_block_file_open(os_block_file *f, const char *path, int block_len);
// Reads block i (block_len ids) into out.
os_status os_block_file_read(os_block_file *f, size_t i, int32_t *out);
void os_block_file_close(os_block_file *f);
#endif
