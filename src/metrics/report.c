#include <stdarg.h>
#include <string.h>

#include "metrics/report.h"

// One writer for both destinations, so the buffer and FILE* variants can never format differently.
typedef struct {
    char *buf;
    size_t cap, len;  // len counts every byte produced, even those that did not fit
    FILE *fp;
    bool failed;
} text_sink;

static void sink_printf(text_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sink_printf(text_sink *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n;
    if (s->fp) {
        n = vfprintf(s->fp, fmt, ap);
    } else {
        size_t room = s->len < s->cap ? s->cap - s->len : 0;
        n = vsnprintf(room ? s->buf + s->len : NULL, room, fmt, ap);
    }
    va_end(ap);
    if (n < 0)
        s->failed = true;
    else
        s->len += (size_t)n;
}

// Python pads by code points, not bytes: count UTF-8 lead bytes so non-ASCII label names line up.
static size_t text_width(const char *str) {
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)str; *p; p++)
        if ((*p & 0xC0) != 0x80) w++;
    return w;
}

static void sink_right(text_sink *s, const char *str, size_t width) {
    size_t w = text_width(str);
    sink_printf(s, "%*s%s", w < width ? (int)(width - w) : 0, "", str);
}

static void write_row(text_sink *s, const os_report_row *row, size_t width, int digits) {
    sink_right(s, row->name, width);
    if (row->accuracy)
        sink_printf(s, "  %9s %9s %9.*f %9lld\n", "", "", digits, row->prf.f1, (long long)row->prf.n_gold);
    else
        sink_printf(s, "  %9.*f %9.*f %9.*f %9lld\n", digits, row->prf.precision, digits, row->prf.recall,
                    digits, row->prf.f1, (long long)row->prf.n_gold);
}

static void write_report(text_sink *s, const os_report_row *classes, size_t n_classes,
                         const os_report_row *avgs, size_t n_avgs, int digits) {
    if (digits < 0) digits = 0;
    // sklearn: width = max(longest class name, len("weighted avg"), digits).
    size_t width = strlen("weighted avg");
    if ((size_t)digits > width) width = (size_t)digits;
    for (size_t i = 0; i < n_classes; i++) {
        size_t w = text_width(classes[i].name);
        if (w > width) width = w;
    }
    sink_right(s, "", width);
    sink_printf(s, "  %9s %9s %9s %9s\n\n", "precision", "recall", "f1-score", "support");
    for (size_t i = 0; i < n_classes; i++) write_row(s, &classes[i], width, digits);
    sink_printf(s, "\n");
    for (size_t i = 0; i < n_avgs; i++) write_row(s, &avgs[i], width, digits);
}

size_t os_report_format(const os_report_row *classes, size_t n_classes, const os_report_row *avgs,
                        size_t n_avgs, int digits, char *buf, size_t cap) {
    text_sink s = {.buf = buf, .cap = cap};
    if (cap) buf[0] = '\0';
    write_report(&s, classes, n_classes, avgs, n_avgs, digits);
    return s.len;
}

os_status os_report_print(const os_report_row *classes, size_t n_classes, const os_report_row *avgs,
                          size_t n_avgs, int digits, FILE *fp) {
    text_sink s = {.fp = fp};
    write_report(&s, classes, n_classes, avgs, n_avgs, digits);
    if (s.failed || ferror(fp)) return os_fail(OS_ERR_IO, "cannot write the classification report");
    return OS_OK;
}

static json_t *row_json(const os_prf *p) {
    json_t *o = json_object();
    if (!o) return NULL;
    if (json_object_set_new(o, "precision", json_real(p->precision)) ||
        json_object_set_new(o, "recall", json_real(p->recall)) ||
        json_object_set_new(o, "f1-score", json_real(p->f1)) ||
        json_object_set_new(o, "support", json_integer((json_int_t)p->n_gold))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int add_rows(json_t *o, const os_report_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        json_t *v = rows[i].accuracy ? json_real(rows[i].prf.f1) : row_json(&rows[i].prf);
        if (!v || json_object_set_new(o, rows[i].name, v)) return -1;
    }
    return 0;
}

json_t *os_report_json(const os_report_row *classes, size_t n_classes, const os_report_row *avgs,
                       size_t n_avgs) {
    json_t *o = json_object();
    if (!o || add_rows(o, classes, n_classes) || add_rows(o, avgs, n_avgs)) {
        json_decref(o);
        // jansson also refuses keys that are not UTF-8, so name both causes.
        os_fail(OS_ERR_NOMEM,
                "cannot build the metrics report JSON: out of memory or a non-UTF-8 label name");
        return NULL;
    }
    return o;
}
