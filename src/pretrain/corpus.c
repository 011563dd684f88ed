#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pretrain/corpus.h"
#include "util/fileio.h"

#define BLOCK_MAGIC "OSBLOCK1"
enum { HEADER_BYTES = 32 };  // magic (8), block_len (8), n_blocks (8), n_tokens (8); little-endian int64

typedef struct {
    const os_tokenizer *tok;
    os_encoding enc;
    int32_t *pack;  // (block_len) ids of the block being filled
    int block_len, fill;
    os_atomic_file out;
    os_corpus_stats *stats;
} packer;

static void put_i64(unsigned char *p, int64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}

static int64_t get_i64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

static os_status add_line(packer *pk, const char *line, size_t len, const char *file, size_t line_no) {
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    if (i == len) return OS_OK;  // blank
    os_status st = os_tokenizer_encode(pk->tok, line, len, NULL, &pk->enc);
    if (st) return os_fail(st, "%s:%zu: %s", file, line_no, os_last_error());
    pk->stats->n_lines++;
    for (int32_t k = 0; k < pk->enc.n; k++) {
        pk->pack[pk->fill++] = pk->enc.ids[k];
        if (pk->fill == pk->block_len) {
            os_atomic_write(&pk->out, pk->pack, (size_t)pk->block_len * sizeof(int32_t));
            pk->stats->n_blocks++;
            pk->stats->n_tokens += (size_t)pk->block_len;
            pk->fill = 0;
        }
    }
    return OS_OK;
}

// Streams one file through add_line, chunk by chunk; a line spanning chunks is carried over.
static os_status pack_file(packer *pk, const char *path, const os_corpus_options *o) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return os_fail(OS_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    size_t cap = o->chunk_bytes + o->max_line_bytes, have = 0, line_no = 1;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return os_fail(OS_ERR_NOMEM, "out of memory");
    }
    os_status st = OS_OK;
    int eof = 0;
    while (!st && (!eof || have)) {
        if (!eof) {
            size_t want = cap - have < o->chunk_bytes ? cap - have : o->chunk_bytes;
            size_t got = fread(buf + have, 1, want, fp);
            if (got < want) {
                if (ferror(fp)) st = os_fail(OS_ERR_IO, "%s: read error", path);
                eof = 1;
            }
            have += got;
        }
        size_t start = 0;
        for (size_t i = 0; i < have && !st; i++)
            if (buf[i] == '\n') {
                st = add_line(pk, buf + start, i - start, path, line_no++);
                start = i + 1;
            }
        // What is left is a partial line: keep it unless it is too long (cut at a space) or the file ended.
        if (!st && (eof || have - start >= o->max_line_bytes)) {
            size_t end = have;
            if (!eof) {
                size_t cut = start + o->max_line_bytes;
                if (cut > have) cut = have;
                end = cut;
                while (end > start && buf[end - 1] != ' ') end--;
                if (end == start) end = cut;  // no space at all: cut mid-word
            }
            if (end > start) st = add_line(pk, buf + start, end - start, path, line_no);
            start = end;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    free(buf);
    fclose(fp);
    return st;
}

os_status os_corpus_pack(const os_tokenizer *tok, char *const *files, int n_files, int block_len,
                         const os_corpus_options *opts, const char *block_path, os_corpus_stats *stats) {
    os_corpus_options o = {1 << 20, 1 << 20};
    if (opts && opts->chunk_bytes) o.chunk_bytes = opts->chunk_bytes;
    if (opts && opts->max_line_bytes) o.max_line_bytes = opts->max_line_bytes;
    memset(stats, 0, sizeof *stats);
    packer pk = {.tok = tok, .block_len = block_len, .stats = stats};
    os_encoding_init(&pk.enc);
    pk.pack = malloc((size_t)block_len * sizeof(int32_t));
    if (!pk.pack) return os_fail(OS_ERR_NOMEM, "out of memory");
    os_status st = os_atomic_open(&pk.out, block_path);
    if (!st) {
        unsigned char header[HEADER_BYTES] = {0};  // rewritten with the counts at the end
        os_atomic_write(&pk.out, header, sizeof header);
        for (int f = 0; f < n_files && !st; f++) st = pack_file(&pk, files[f], &o);
        stats->dropped_tokens = (size_t)pk.fill;
        if (!st) {
            memcpy(header, BLOCK_MAGIC, 8);
            put_i64(header + 8, block_len);
            put_i64(header + 16, (int64_t)stats->n_blocks);
            put_i64(header + 24, (int64_t)stats->n_tokens);
            FILE *fp = pk.out.fp;
            if (fflush(fp) || fseek(fp, 0, SEEK_SET) || fwrite(header, 1, sizeof header, fp) != sizeof header)
                pk.out.failed = 1;
            st = os_atomic_commit(&pk.out);
        } else {
            os_atomic_abort(&pk.out);
        }
    }
    os_encoding_free(&pk.enc);
    free(pk.pack);
    return st;
}

os_status os_block_file_open(os_block_file *f, const char *path, int block_len) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return os_fail(OS_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    unsigned char h[HEADER_BYTES];
    int ok = fread(h, 1, sizeof h, fp) == sizeof h && !memcmp(h, BLOCK_MAGIC, 8);
    int64_t len = ok ? get_i64(h + 8) : 0, n = ok ? get_i64(h + 16) : 0;
    long expect_end = 0;
    if (ok && !fseek(fp, 0, SEEK_END)) expect_end = ftell(fp);
    if (!ok || len != block_len || n < 0 || expect_end != (long)(HEADER_BYTES + n * len * 4)) {
        fclose(fp);
        return os_fail(OS_ERR_INPUT, "%s: not a block file of %d-token blocks (delete it to rebuild it)", path, block_len);
    }
    f->fp = fp;
    f->path = strdup(path);
    f->block_len = block_len;
    f->n_blocks = (size_t)n;
    return OS_OK;
}

os_status os_block_file_read(os_block_file *f, size_t i, int32_t *out) {
    FILE *fp = f->fp;
    long off = HEADER_BYTES + (long)(i * (size_t)f->block_len * 4);
    if (i >= f->n_blocks || fseek(fp, off, SEEK_SET) ||
        fread(out, sizeof(int32_t), (size_t)f->block_len, fp) != (size_t)f->block_len)
        return os_fail(OS_ERR_IO, "%s: cannot read block %zu", f->path, i);
    return OS_OK;
}

void os_block_file_close(os_block_file *f) {
    if (f->fp) fclose(f->fp);
    free(f->path);
    memset(f, 0, sizeof *f);
}
