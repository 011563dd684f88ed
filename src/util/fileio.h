// Whole-file reads and crash-safe writes (temporary file, fsync, rename: readers never see half a file).
#ifndef ONESTONE_UTIL_FILEIO_H
#define ONESTONE_UTIL_FILEIO_H
#include <stddef.h>

#include "util/error.h"

// Reads the whole file into a NUL-terminated malloc'd buffer; *len gets the byte count (without the NUL).
os_status os_read_file(const char *path, char **data, size_t *len);

// Atomic writer: bytes go to PATH.tmp.PID, and commit fsyncs and renames onto PATH.
typedef struct {
    char *path;
    char *tmp_path;
    void *fp;  // FILE*
    int failed;
} os_atomic_file;

os_status os_atomic_open(os_atomic_file *f, const char *path);
// Appends bytes; errors are remembered and reported by commit.
void os_atomic_write(os_atomic_file *f, const void *data, size_t len);
// Flushes, fsyncs and renames the temporary file onto the target; on failure removes it.
os_status os_atomic_commit(os_atomic_file *f);
// Abandons the write and removes the temporary file.
void os_atomic_abort(os_atomic_file *f);
// Writes a whole buffer atomically.
os_status os_write_file_atomic(const char *path, const void *data, size_t len);

// Creates a directory (and parents) if missing.
os_status os_mkdirs(const char *path);
// Joins a directory and a file name into a malloc'd string.
char *os_path_join(const char *dir, const char *name);
// True when the path exists.
int os_path_exists(const char *path);

// Removes a directory and the files directly inside it (no recursion into subdirectories: model and
// checkpoint directories are flat). Missing directory: OK.
os_status os_remove_flat_dir(const char *dir);
// Makes `tmp_dir` (a fully written directory) become `dir`: the old `dir` is moved aside, `tmp_dir` renamed
// into place and the old one removed, so `dir` is at every moment either the old or the new complete version.
os_status os_replace_dir(const char *tmp_dir, const char *dir);
#endif
