// web/index.html, embedded at build time (web/embed.cmake): the page GET / serves.
#ifndef ONESTONE_SERVE_WEB_PAGE_H
#define ONESTONE_SERVE_WEB_PAGE_H
#include <stddef.h>

extern const unsigned char sv_index_html[];
extern const size_t sv_index_html_len;
#endif
