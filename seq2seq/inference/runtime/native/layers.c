/* Transformer layers in one call each (docs/benchmarks.md, "Layers in one native call"): a
 * decoder layer's decoding step, and an encoder layer.
 *
 * A step of a small model costs PyTorch some twenty operators per layer, each dispatched from
 * Python, whose fixed costs exceed their arithmetic; this does a layer in one call: the
 * products (fp32 over weights packed in panels of 64 columns, or int8 by int8.c),
 * attention over each row's own keys, layer norms and residual sums. Enough rows are shared
 * among the threads by group (a sentence's beams) or by sentence, each part a layer of its
 * own, with no step between them to wait for. seq2seq/inference/runtime/native/layer.py
 * prepares the weights and calls it through ctypes.
 *
 * Layouts (row-major, fp32):
 *   x           (groups * width, d), the new positions (a decoder step), or
 *               (batch * length, d), the source tokens (the encoder); overwritten by the
 *               layer's output
 *   kv          (2, groups, heads, capacity, head_dim): keys, then values; entries
 *               [length, length + width) of each group are written here
 *   self_mask   (groups, width, length + width) bytes, 1 where a row may attend; NULL: all
 *   cross_k/v   (groups, heads, src_len, head_dim)
 *   memory_mask (groups, src_len) bytes, 1 at real source tokens; NULL: all; the encoder's
 *               key_mask (batch, length) likewise
 */
#include <stdlib.h>

#include "attend.h"
#include "int8.h"

/* Below this many multiply-adds a layer's call runs on one thread: starting the others
 * costs more. */
#define PARALLEL_MIN (1L << 20)

typedef struct {
    const float *weight; /* fp32 panels (PANEL); NULL when int8 */
    const float *bias;   /* (out) */
    int in, out;
    Int8Weights int8;    /* int8.c's weights (packed NULL: fp32) */
} Linear;

typedef struct {
    const float *weight, *bias; /* (d) */
    float eps;
} Norm;

typedef struct {
    int d, heads, ffn, pre_norm, swish;
    Linear qkv, self_out, cross_q, cross_out, w1, w2;
    Norm self_norm, cross_norm, ffn_norm;
} Layer;

/* fp32 weights come in panels of PANEL columns: panel p holds columns [PANEL * p,
 * PANEL * (p + 1)) as (in, PANEL) rows, zeros past out (layer.py packs them). A block of up
 * to PANEL_ROWS rows by one panel keeps its sums in registers (24 of AVX-512's 32) while i
 * runs over in, and every block of rows passes over a panel while it is in the core's cache:
 * the weights are read from memory once per call, not once per block. */
#define PANEL 64
#define PANEL_ROWS 6

/* y (rows, out) at columns [o, o + cols) = x (rows, in) @ the panel's columns + bias, rows
 * <= PANEL_ROWS; inlined with rows a constant, so that the sums stay in registers. */
static inline __attribute__((always_inline)) void panel_rows(int rows, const float *x, int in,
                                                            const float *panel,
                                                            const float *bias, int cols,
                                                            float *y, int out) {
    v16 acc[PANEL_ROWS][4];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = (v16){0};
    for (int i = 0; i < in; i++) {
        const float *w = panel + (size_t)i * PANEL;
        const v16 w0 = load16(w), w1 = load16(w + 16), w2 = load16(w + 32), w3 = load16(w + 48);
        for (int r = 0; r < rows; r++) {
            const float a = x[(size_t)r * in + i];
            acc[r][0] += a * w0;
            acc[r][1] += a * w1;
            acc[r][2] += a * w2;
            acc[r][3] += a * w3;
        }
    }
    for (int r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * out, sums[PANEL];
        for (int c = 0; c < 4; c++) store16(sums + 16 * c, acc[r][c]);
        for (int j = 0; j < cols; j++) yr[j] = sums[j] + bias[j];
    }
}

/* y (rows, out) = x (rows, in) @ the panels + bias: panel by panel, PANEL_ROWS rows at a
 * time, then the rows left over. */
static void panel_linear(const Linear *l, const float *x, int rows, float *y) {
    const int in = l->in, out = l->out;
    for (int o = 0; o < out; o += PANEL) {
        const float *panel = l->weight + (size_t)o * in, *bias = l->bias + o;
        const int cols = out - o < PANEL ? out - o : PANEL;
        int r = 0;
        for (; r + PANEL_ROWS <= rows; r += PANEL_ROWS)
            panel_rows(PANEL_ROWS, x + (size_t)r * in, in, panel, bias, cols,
                       y + (size_t)r * out + o, out);
        const float *xr = x + (size_t)r * in;
        float *yr = y + (size_t)r * out + o;
        switch (rows - r) {
        case 5: panel_rows(5, xr, in, panel, bias, cols, yr, out); break;
        case 4: panel_rows(4, xr, in, panel, bias, cols, yr, out); break;
        case 3: panel_rows(3, xr, in, panel, bias, cols, yr, out); break;
        case 2: panel_rows(2, xr, in, panel, bias, cols, yr, out); break;
        case 1: panel_rows(1, xr, in, panel, bias, cols, yr, out); break;
        }
    }
}

/* Scratch space of a layer over rows: sub-layer inputs, the widest product, attention
 * contexts, attend's scores for up to keys entries and the entries two rows attend to, and
 * the quantized rows of an int8 product with their scales. */
typedef struct {
    float *h, *wide, *context, *scores, *x_scales;
    int *chosen;
    uint8_t *q;
} Scratch;

/* y (rows, out) = x (rows, in) @ weight + bias: in int8 (int8.c) or in fp32 panels */
static void linear(const Linear *l, const float *x, int rows, float *y, const Scratch *s) {
    if (l->int8.packed)
        int8_rows(x, rows, l->in, &l->int8, l->bias, l->out, y, s->q, s->x_scales);
    else
        panel_linear(l, x, rows, y);
}

static void layer_norm(const Norm *n, int d, const float *x, float *y, int rows) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        v16 lanes = {0};
        int i = 0;
        for (; i + 16 <= d; i += 16) lanes += load16(xr + i);
        float mean = sum16(lanes);
        for (; i < d; i++) mean += xr[i];
        mean /= d;
        const v16 centre = (v16){0} + mean;
        lanes = (v16){0};
        for (i = 0; i + 16 <= d; i += 16) {
            const v16 c = load16(xr + i) - centre;
            lanes += c * c;
        }
        float var = sum16(lanes);
        for (; i < d; i++) var += (xr[i] - mean) * (xr[i] - mean);
        const float scale = 1.0f / sqrtf(var / d + n->eps);
        const v16 scales = (v16){0} + scale;
        for (i = 0; i + 16 <= d; i += 16)
            store16(yr + i, (load16(xr + i) - centre) * scales * load16(n->weight + i) +
                                load16(n->bias + i));
        for (; i < d; i++) yr[i] = (xr[i] - mean) * scale * n->weight[i] + n->bias[i];
    }
}

/* The sub-layer's input: LayerNorm(x) before it (pre-LN), or x itself (post-LN). */
static const float *sublayer_input(const Layer *L, const Norm *n, const float *x, float *h,
                                   int rows) {
    if (!L->pre_norm) return x;
    layer_norm(n, L->d, x, h, rows);
    return h;
}

/* x += y, then LayerNorm after the sum (post-LN). */
static void residual(const Layer *L, const Norm *n, float *x, const float *y, int rows) {
    for (size_t i = 0; i < (size_t)rows * L->d; i++) x[i] += y[i];
    if (!L->pre_norm) layer_norm(n, L->d, x, x, rows);
}

/* Ask for the keys and values of the entries in chosen[0..count) (a head's, each head_dim
 * floats) to be brought into the core's L2 cache (prefetcht1): the next head's, while this
 * one computes. A row's entries lie scattered over its group's, too few in a run for the
 * hardware prefetcher to foresee, and the group's first row waits on memory for each. */
static void prefetch_entries(const float *keys, const float *values, const int *chosen,
                             int count, int head_dim) {
    for (int j = 0; j < count; j++)
        for (int i = 0; i < head_dim; i += 16) {
            __builtin_prefetch(keys + (size_t)chosen[j] * head_dim + i, 0, 2);
            __builtin_prefetch(values + (size_t)chosen[j] * head_dim + i, 0, 2);
        }
}

/* Self-attention of a step: each row's new key and value stored at its group's entry
 * length + j, then each row attends to the entries its mask allows, head by head, the next
 * head's entries (or the next row's first) prefetched meanwhile. keys and values are the
 * first of these groups' (groups, heads, capacity, head_dim) entries; s->chosen has room
 * for two rows' entries: this row's, and the next's. */
static void self_attention(const Layer *L, float *x, int groups, int width, float *keys,
                           float *values, long capacity, int length,
                           const unsigned char *self_mask, const Scratch *s) {
    const int d = L->d, heads = L->heads, head_dim = d / heads, rows = groups * width;
    const int entries = length + width;
    const size_t head_size = (size_t)capacity * head_dim;
    linear(&L->qkv, sublayer_input(L, &L->self_norm, x, s->h, rows), rows, s->wide, s);
    for (int r = 0; r < rows; r++)
        for (int hd = 0; hd < heads; hd++) {
            const int g = r / width, j = r % width;
            const size_t at =
                ((size_t)g * heads + hd) * head_size + (size_t)(length + j) * head_dim;
            const float *q = s->wide + (size_t)r * 3 * d + hd * head_dim;
            memcpy(keys + at, q + d, sizeof(float) * head_dim);
            memcpy(values + at, q + 2 * d, sizeof(float) * head_dim);
        }
    int *path = s->chosen, *next = s->chosen + entries;
    int count = allowed_entries(self_mask, entries, path);
    for (int r = 0; r < rows; r++) {
        const int next_count = r + 1 < rows ? allowed_entries(
                                   self_mask ? self_mask + (size_t)(r + 1) * entries : NULL,
                                   entries, next)
                                            : 0;
        for (int hd = 0; hd < heads; hd++) {
            const size_t first = ((size_t)(r / width) * heads + hd) * head_size;
            if (hd + 1 < heads)
                prefetch_entries(keys + first + head_size, values + first + head_size, path,
                                 count, head_dim);
            else if (r + 1 < rows) {
                const size_t next_first = (size_t)((r + 1) / width) * heads * head_size;
                prefetch_entries(keys + next_first, values + next_first, next, next_count,
                                 head_dim);
            }
            attend(s->wide + (size_t)r * 3 * d + hd * head_dim, keys + first, values + first,
                   path, count, head_dim, head_dim, s->scores,
                   s->context + (size_t)r * d + hd * head_dim);
        }
        int *done = path;
        path = next;
        next = done;
        count = next_count;
    }
    linear(&L->self_out, s->context, rows, s->wide, s);
    residual(L, &L->self_norm, x, s->wide, rows);
}

static void cross_attention(const Layer *L, float *x, int groups, int width,
                            const float *cross_k, const float *cross_v, int src_len,
                            const unsigned char *memory_mask, const Scratch *s) {
    const int d = L->d, heads = L->heads, head_dim = d / heads, rows = groups * width;
    linear(&L->cross_q, sublayer_input(L, &L->cross_norm, x, s->h, rows), rows, s->wide, s);
    for (int r = 0; r < rows; r++) {
        const int g = r / width, count = allowed_entries(
                                     memory_mask ? memory_mask + (size_t)g * src_len : NULL,
                                     src_len, s->chosen);
        for (int hd = 0; hd < heads; hd++) {
            const size_t first = ((size_t)g * heads + hd) * src_len * head_dim;
            attend(s->wide + (size_t)r * d + hd * head_dim, cross_k + first, cross_v + first,
                   s->chosen, count, head_dim, head_dim, s->scores,
                   s->context + (size_t)r * d + hd * head_dim);
        }
    }
    linear(&L->cross_out, s->context, rows, s->wide, s);
    residual(L, &L->cross_norm, x, s->wide, rows);
}

static void feed_forward(const Layer *L, float *x, int rows, const Scratch *s) {
    linear(&L->w1, sublayer_input(L, &L->ffn_norm, x, s->h, rows), rows, s->wide, s);
    for (size_t i = 0; i < (size_t)rows * L->ffn; i++) {
        const float a = s->wide[i];
        s->wide[i] = L->swish ? a / (1.0f + expf(-a)) : (a > 0.0f ? a : 0.0f);
    }
    linear(&L->w2, s->wide, rows, s->context, s);
    residual(L, &L->ffn_norm, x, s->context, rows);
}

static void scratch_free(Scratch *s) {
    free(s->h);
    free(s->context);
    free(s->wide);
    free(s->scores);
    free(s->chosen);
    free(s->q);
    free(s->x_scales);
}

static int scratch_for(Scratch *s, const Layer *L, int rows, int keys) {
    const int widest = 3 * L->d > L->ffn ? 3 * L->d : L->ffn;
    const int widest_in = L->ffn > L->d ? L->ffn : L->d;
    s->h = malloc(sizeof(float) * rows * L->d);
    s->context = malloc(sizeof(float) * rows * L->d);
    s->wide = malloc(sizeof(float) * rows * widest);
    s->scores = malloc(sizeof(float) * SCORES_ROOM(keys));
    s->chosen = malloc(sizeof(int) * 2 * (keys > 0 ? keys : 1)); /* two rows' */
    s->q = malloc((size_t)rows * ((widest_in + 3) & ~3));
    s->x_scales = malloc(sizeof(float) * (rows > 0 ? rows : 1));
    return s->h && s->context && s->wide && s->scores && s->chosen && s->q && s->x_scales;
}

/* How many parts a call over `items` (groups or sentences) of `rows_each` rows splits into:
 * one per thread, one alone below PARALLEL_MIN multiply-adds. */
static int parts_of(const Layer *L, int items, int rows_each, int threads) {
    const long work = (long)items * rows_each * L->d * (6L * L->d + 2L * L->ffn);
    int parts = work >= PARALLEL_MIN ? threads : 1;
    if (parts > items) parts = items;
    return parts > 1 ? parts : 1;
}

/* Scratch for each part, rows_each rows per item of the part's share; NULL when some memory
 * could not be had (nothing is then allocated). */
static Scratch *scratch_of_parts(const Layer *L, int parts, int items, int rows_each,
                                 int keys) {
    Scratch *all = calloc(parts, sizeof(Scratch));
    int ready = all != NULL;
    for (int p = 0; ready && p < parts; p++) {
        const int share = items * (p + 1) / parts - items * p / parts;
        ready = scratch_for(&all[p], L, share * rows_each, keys);
    }
    if (!ready && all)
        for (int p = 0; p < parts; p++) scratch_free(&all[p]);
    if (!ready) {
        free(all);
        return NULL;
    }
    return all;
}

static void scratch_free_parts(Scratch *all, int parts) {
    for (int p = 0; p < parts; p++) scratch_free(&all[p]);
    free(all);
}

/* One decoder layer's step, its groups shared among up to `threads` threads (a group's rows
 * read each other's new entries, so a group stays on one thread). Returns 0, or -1 when
 * scratch memory could not be had (x and kv then unchanged: the caller raises). */
int decoder_layer_step(const Layer *L, float *x, int groups, int width, float *kv,
                       long capacity, int length, const unsigned char *self_mask,
                       const float *cross_k, const float *cross_v, int src_len,
                       const unsigned char *memory_mask, int threads) {
    const int d = L->d, head_dim = d / L->heads, entries = length + width;
    const int keys = entries > src_len ? entries : src_len;
    const int parts = parts_of(L, groups, width, threads);
    Scratch *scratch = scratch_of_parts(L, parts, groups, width, keys);
    if (!scratch) return -1;
    const size_t plane = (size_t)groups * L->heads * capacity * head_dim;
    const size_t group_kv = (size_t)L->heads * capacity * head_dim;
    const size_t group_cross = (size_t)L->heads * src_len * head_dim;
#pragma omp parallel for num_threads(parts) schedule(static) if (parts > 1)
    for (int p = 0; p < parts; p++) {
        const int g0 = groups * p / parts, count = groups * (p + 1) / parts - g0;
        float *xp = x + (size_t)g0 * width * d, *keys_p = kv + g0 * group_kv;
        self_attention(L, xp, count, width, keys_p, keys_p + plane, capacity, length,
                       self_mask ? self_mask + (size_t)g0 * width * entries : NULL,
                       &scratch[p]);
        cross_attention(L, xp, count, width, cross_k + g0 * group_cross,
                        cross_v + g0 * group_cross, src_len,
                        memory_mask ? memory_mask + (size_t)g0 * src_len : NULL, &scratch[p]);
        feed_forward(L, xp, count * width, &scratch[p]);
    }
    scratch_free_parts(scratch, parts);
    return 0;
}

/* The self-attention of an encoder layer over `batch` sentences of `length` tokens. */
static void encoder_attention(const Layer *L, float *x, int batch, int length,
                              const unsigned char *key_mask, const Scratch *s) {
    const int d = L->d, heads = L->heads, head_dim = d / heads, rows = batch * length;
    linear(&L->qkv, sublayer_input(L, &L->self_norm, x, s->h, rows), rows, s->wide, s);
    for (int r = 0; r < rows; r++) {
        const int b = r / length, count = allowed_entries(
                                      key_mask ? key_mask + (size_t)b * length : NULL,
                                      length, s->chosen);
        for (int hd = 0; hd < heads; hd++) {
            const float *first = s->wide + (size_t)b * length * 3 * d + hd * head_dim;
            attend(s->wide + (size_t)r * 3 * d + hd * head_dim, first + d, first + 2 * d,
                   s->chosen, count, head_dim, (size_t)3 * d, s->scores,
                   s->context + (size_t)r * d + hd * head_dim);
        }
    }
    linear(&L->self_out, s->context, rows, s->wide, s);
    residual(L, &L->self_norm, x, s->wide, rows);
}

/* One encoder layer over batch sentences of length tokens (padding included, which
 * key_mask hides from every query), the sentences shared among up to `threads` threads.
 * Returns 0, or -1 as decoder_layer_step. */
int encoder_layer(const Layer *L, float *x, int batch, int length,
                  const unsigned char *key_mask, int threads) {
    const int parts = parts_of(L, batch, length, threads);
    Scratch *scratch = scratch_of_parts(L, parts, batch, length, length);
    if (!scratch) return -1;
#pragma omp parallel for num_threads(parts) schedule(static) if (parts > 1)
    for (int p = 0; p < parts; p++) {
        const int b0 = batch * p / parts, count = batch * (p + 1) / parts - b0;
        float *xp = x + (size_t)b0 * length * L->d;
        encoder_attention(L, xp, count, length,
                          key_mask ? key_mask + (size_t)b0 * length : NULL, &scratch[p]);
        feed_forward(L, xp, count * length, &scratch[p]);
    }
    scratch_free_parts(scratch, parts);
    return 0;
}
