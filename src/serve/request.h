// The JSON of the service (docs/serve.md): POST /v1/predict bodies in, predictions and model metadata out.
#ifndef ONESTONE_SERVE_REQUEST_H
#define ONESTONE_SERVE_REQUEST_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "onestone.h"

typedef struct {
    json_t *root;        // the parsed body; owns the texts
    const char **texts;  // (n)
    int n;
    int single;          // the body had "text" (answered with "prediction"), not "texts"
    uint8_t *want;       // (num_tasks) tasks asked for
} sv_predict_request;

// Parses a /v1/predict body: {"text": S} or {"texts": [S, ...]}, optional "tasks": [NAME, ...].
// Returns 0, or the HTTP status to answer (400 malformed, 413 a text over max_text_bytes or more than
// max_texts texts) with a one-line message naming the field in err.
int sv_request_parse(sv_predict_request *r, const onestone_model *m, const char *body, size_t len,
                     size_t max_text_bytes, int max_texts, char *err, size_t errlen);
void sv_request_free(sv_predict_request *r);
// The answer's body from one JSON object per text: {"prediction": O} or {"predictions": [O, ...]}.
// malloc'd; NULL when out of memory.
char *sv_response_body(const sv_predict_request *r, char *const *objects);
// GET /v1/model: {"version", "tasks": [{"name", "level", "problem", "labels"}], "max_batch", "max_text_bytes"}.
char *sv_model_body(const onestone_model *m, int max_batch, size_t max_text_bytes);
// {"error": msg}, malloc'd.
char *sv_error_body(const char *msg);
#endif
