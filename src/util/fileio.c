#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"

os_status os_read_file(const char *path, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return os_fail(OS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        return os_fail(OS_ERR_IO, "%s: cannot seek (not a regular file?)", path);
    }
    long size = ftell(fp);
    if (size < 0) {
        fclose(fp);
        return os_fail(OS_ERR_IO, "%s: cannot determine size", path);
    }
    rewind(fp);
    char *buf = malloc((size_t)size + 1);
    if (!buf) {
        fclose(fp);
        return os_fail(OS_ERR_NOMEM, "%s: out of memory reading %ld bytes", path, size);
    }
    size_t got = fread(buf, 1, (size_t)size, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err || got != (size_t)size) {
        free(buf);
        return os_fail(OS_ERR_IO, "%s: read error", path);
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return OS_OK;
}

os_status os_atomic_open(os_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 32;
    f->path = strdup(path);
    f->tmp_path = malloc(n);
    if (!f->path || !f->tmp_path) {
        free(f->path);
        free(f->tmp_path);
        return os_fail(OS_ERR_NOMEM, "out of memory");
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        os_status st = os_fail(OS_ERR_IO, "%s: cannot create: %s", f->tmp_path, strerror(errno));
        free(f->path);
        free(f->tmp_path);
        f->path = f->tmp_path = NULL;
        return st;
    }
    return OS_OK;
}

void os_atomic_write(os_atomic_file *f, const void *data, size_t len) {
    if (f->failed || len == 0) return;
    if (fwrite(data, 1, len, (FILE *)f->fp) != len) f->failed = errno ? errno : EIO;
}

static void atomic_free(os_atomic_file *f) {
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    f->fp = NULL;
}

os_status os_atomic_commit(os_atomic_file *f) {
    FILE *fp = f->fp;
    int ok = !f->failed && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    int err = errno;
    if (fclose(fp) != 0) ok = 0;
    if (ok && rename(f->tmp_path, f->path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(f->tmp_path);
        os_status st = os_fail(OS_ERR_IO, "%s: write failed: %s", f->path, strerror(f->failed ? f->failed : err));
        atomic_free(f);
        return st;
    }
    // Make the rename itself durable: fsync the containing directory.
    char *dir = strdup(f->path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0'; else strcpy(dir, ".");
        int dfd = open(dir[0] ? dir : "/", O_RDONLY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    atomic_free(f);
    return OS_OK;
}

void os_atomic_abort(os_atomic_file *f) {
    if (f->fp) fclose((FILE *)f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    atomic_free(f);
}

os_status os_write_file_atomic(const char *path, const void *data, size_t len) {
    os_atomic_file f;
    os_status st = os_atomic_open(&f, path);
    if (st) return st;
    os_atomic_write(&f, data, len);
    return os_atomic_commit(&f);
}

os_status os_mkdirs(const char *path) {
    char *p = strdup(path);
    if (!p) return os_fail(OS_ERR_NOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            os_status st = os_fail(OS_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
            free(p);
            return st;
        }
        *s = '/';
    }
    os_status st = OS_OK;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        st = os_fail(OS_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
    free(p);
    return st;
}

char *os_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (!s) return NULL;
    size_t dl = strlen(dir);
    snprintf(s, n, "%s%s%s", dir, (dl && dir[dl - 1] == '/') ? "" : "/", name);
    return s;
}

int os_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

#include <dirent.h>

os_status os_remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? OS_OK : os_fail(OS_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = os_path_join(dir, e->d_name);
        if (p) unlink(p);
        free(p);
    }
    closedir(d);
    if (rmdir(dir) != 0 && errno != ENOENT) return os_fail(OS_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    return OS_OK;
}

os_status os_replace_dir(const char *tmp_dir, const char *dir) {
    size_t n = strlen(dir) + 8;
    char *old = malloc(n);
    if (!old) return os_fail(OS_ERR_NOMEM, "out of memory");
    snprintf(old, n, "%s.old", dir);
    os_remove_flat_dir(old);
    if (rename(dir, old) != 0 && errno != ENOENT) {
        os_status st = os_fail(OS_ERR_IO, "%s: cannot move aside: %s", dir, strerror(errno));
        free(old);
        return st;
    }
    if (rename(tmp_dir, dir) != 0) {
        os_status st = os_fail(OS_ERR_IO, "%s: cannot rename to %s: %s", tmp_dir, dir, strerror(errno));
        rename(old, dir);  // put the previous version back
        free(old);
        return st;
    }
    os_status st = os_remove_flat_dir(old);
    free(old);
    return st;
}
