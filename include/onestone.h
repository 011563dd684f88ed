// onestone public C API: load a model directory, run every (or chosen) task on a batch of texts in one
// encoder pass, read the predictions. Reference: docs/api.md.
//
// Threading: a loaded onestone_model is read-only and may be shared by any number of threads. An
// onestone_context holds the scratch memory of one inference at a time: use one context per thread (or
// serialise the calls on a context with your own lock). Results are independent of their context.
//
// Return codes (int): 0 ok; 1 internal error, 2 bad usage (e.g. an unknown task name), 3 bad input
// (config, checkpoint or request content), 4 file missing or unreadable, 5 out of memory. On failure the
// functions that take (err, errlen) write a one-line message there (err may be NULL).
#ifndef ONESTONE_H
#define ONESTONE_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONESTONE_OK 0
#define ONESTONE_ERR_INTERNAL 1
#define ONESTONE_ERR_USAGE 2
#define ONESTONE_ERR_INPUT 3
#define ONESTONE_ERR_IO 4
#define ONESTONE_ERR_NOMEM 5

typedef struct onestone_model onestone_model;
typedef struct onestone_context onestone_context;
typedef struct onestone_result onestone_result;

// Task level and problem kinds.
enum { ONESTONE_TASK_SEQUENCE = 0, ONESTONE_TASK_TOKEN = 1, ONESTONE_TASK_ENTITY_PAIR = 2 };
enum { ONESTONE_PROBLEM_CLASSIFICATION = 0, ONESTONE_PROBLEM_MULTI_LABEL = 1, ONESTONE_PROBLEM_REGRESSION = 2 };

// The library version, e.g. "0.1.0".
const char *onestone_version(void);
// The return code of the calling thread's last onestone_model_load / onestone_context_new / onestone_predict
// (0 when it succeeded): how the functions that return a pointer report which error it was.
int onestone_last_error_code(void);

// Loads a model directory (config.json + model.safetensors + vocab.txt or tokenizer.json). NULL on failure
// (message in err).
onestone_model *onestone_model_load(const char *dir, char *err, size_t errlen);
// Frees the model; every context and result made from it must be freed first. NULL is a no-op.
void onestone_model_free(onestone_model *m);

int onestone_model_num_tasks(const onestone_model *m);
// Task i's name (0 <= i < num_tasks); NULL when out of range.
const char *onestone_model_task_name(const onestone_model *m, int i);
// Index of the task called name, or -1.
int onestone_model_find_task(const onestone_model *m, const char *name);
int onestone_model_task_level(const onestone_model *m, int i);    // ONESTONE_TASK_*, -1 out of range
int onestone_model_task_problem(const onestone_model *m, int i);  // ONESTONE_PROBLEM_*, -1 out of range
// Classes (classification), labels (multi-label) or outputs (regression); -1 out of range.
int onestone_model_task_num_labels(const onestone_model *m, int i);
// Label j of task i; NULL for regression or out of range.
const char *onestone_model_task_label(const onestone_model *m, int i, int j);
// The number of word pieces text becomes, [CLS] and [SEP] included, truncated to the model's limit (what
// one prediction runs the encoder on); -1 when m or text is NULL. Thread-safe (for throughput metrics).
int onestone_model_count_tokens(const onestone_model *m, const char *text);

// A context for predictions with model m (which must outlive it). One context per thread. NULL on failure
// (message in err). A context shares the model's weights and tokenizer; it owns only activation buffers.
onestone_context *onestone_context_new(const onestone_model *m, char *err, size_t errlen);
void onestone_context_free(onestone_context *c);
// Texts longer than max_length word pieces (including [CLS]/[SEP]) are truncated; 0 = the model's limit.
void onestone_context_set_max_length(onestone_context *c, int max_length);
// Non-zero: results also carry raw logits (and onestone_result_json adds them like `onestone predict --logits`).
void onestone_context_set_logits(onestone_context *c, int on);

// Predicts n NUL-terminated UTF-8 texts in one encoder pass. tasks: comma-separated task names, or NULL /
// "" for all. *out is a new result (free with onestone_result_free). Returns 0 or an error code.
int onestone_predict(onestone_context *c, const char *const *texts, int n, const char *tasks,
                     onestone_result **out, char *err, size_t errlen);
void onestone_result_free(onestone_result *r);

// Below, i is the text index (0 <= i < n) and task a task index of the model.
int onestone_result_num_texts(const onestone_result *r);
// 1 when text i has a prediction for the task (it was selected and, for entity-pair tasks, the text has
// <e1> ... <e2> markers), else 0.
int onestone_result_has(const onestone_result *r, int i, int task);
// Classification (sequence or entity pair): the predicted label's name; *index and *score (its softmax
// probability) when non-NULL. NULL when there is no such prediction.
const char *onestone_result_label(const onestone_result *r, int i, int task, int *index, double *score);
// Regression: copies up to cap values to out and returns the number of outputs (-1 when none).
// Multi-label: copies the sigmoid probability of every label (model label order) and returns num_labels.
int onestone_result_values(const onestone_result *r, int i, int task, double *out, int cap);
// Multi-label: the number of labels with probability >= 0.5 (-1 when none) and the k-th of them by name.
int onestone_result_num_active(const onestone_result *r, int i, int task);
const char *onestone_result_active_label(const onestone_result *r, int i, int task, int k);
// Token tasks: the number of words (-1 when none); word w's label (NULL if none) and byte offsets in the text
// [start, end).
int onestone_result_num_words(const onestone_result *r, int i, int task);
const char *onestone_result_word(const onestone_result *r, int i, int task, int w, int *start, int *end);
// With logits on, sequence-level tasks: copies up to cap raw logits and returns their number (-1 when none).
int onestone_result_logits(const onestone_result *r, int i, int task, double *out, int cap);
// Text i's predictions as one line of JSON, exactly as `onestone predict` prints it (docs/predict.md);
// malloc'd, free with free(). NULL when i is out of range.
char *onestone_result_json(const onestone_result *r, int i);

#ifdef __cplusplus
}
#endif
#endif
