/* Transformer layers in fp32 over few rows (docs/benchmarks.md, "Layers in one native
 * call"): a decoder layer's decoding step, and an encoder layer.
 *
 * A step of a small model over a few rows (one sentence's beams) costs PyTorch some twenty
 * operators per layer, each dispatched from Python, whose fixed costs exceed their arithmetic;
 * this does a layer in one call: the products in blocks of 4 rows by 64 columns held in
 * registers, attention over each row's own keys, layer norms and residual sums.
 * seq2seq/inference/runtime/native/layer.py prepares the weights and calls it through ctypes.
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

typedef struct {
    const float *weight; /* (in, out): the transpose of nn.Linear's */
    const float *bias;   /* (out) */
    int in, out;
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

/* Columns [o, o + 16 * VECTORS) of y (ROWS, out) = x (ROWS, in) @ weight + bias, the
 * accumulators in registers. */
#define LINEAR_BLOCK(ROWS, VECTORS)                                                         \
    {                                                                                       \
        v16 acc[ROWS][VECTORS];                                                             \
        memset(acc, 0, sizeof acc);                                                         \
        for (int i = 0; i < in; i++) {                                                      \
            const float *w = l->weight + (size_t)i * out + o;                               \
            v16 wv[VECTORS];                                                                \
            for (int c = 0; c < VECTORS; c++) wv[c] = load16(w + 16 * c);                   \
            for (int r = 0; r < ROWS; r++)                                                  \
                for (int c = 0; c < VECTORS; c++)                                           \
                    acc[r][c] += x0[(size_t)r * in + i] * wv[c];                            \
        }                                                                                   \
        for (int r = 0; r < ROWS; r++)                                                      \
            for (int c = 0; c < VECTORS; c++)                                               \
                store16(y0 + (size_t)r * out + o + 16 * c,                                  \
                        acc[r][c] + load16(l->bias + o + 16 * c));                          \
    }

/* y (ROWS, out) = x (ROWS, in) @ weight + bias: blocks of 64 columns, then of 16, then one
 * column at a time. */
#define LINEAR_ROWS(ROWS)                                                                   \
    {                                                                                       \
        int o = 0;                                                                          \
        for (; o + 64 <= out; o += 64) LINEAR_BLOCK(ROWS, 4)                                \
        for (; o + 16 <= out; o += 16) LINEAR_BLOCK(ROWS, 1)                                \
        for (; o < out; o++)                                                                \
            for (int r = 0; r < ROWS; r++) {                                                \
                float s = l->bias[o];                                                       \
                for (int i = 0; i < in; i++)                                                \
                    s += x0[(size_t)r * in + i] * l->weight[(size_t)i * out + o];           \
                y0[(size_t)r * out + o] = s;                                                \
            }                                                                               \
    }

/* y (rows, out) = x (rows, in) @ weight + bias, four rows at a time */
static void linear(const Linear *l, const float *x, int rows, float *y) {
    const int in = l->in, out = l->out;
    int r0 = 0;
    for (; r0 + 4 <= rows; r0 += 4) {
        const float *x0 = x + (size_t)r0 * in;
        float *y0 = y + (size_t)r0 * out;
        LINEAR_ROWS(4)
    }
    for (; r0 < rows; r0++) {
        const float *x0 = x + (size_t)r0 * in;
        float *y0 = y + (size_t)r0 * out;
        LINEAR_ROWS(1)
    }
}

static void layer_norm(const Norm *n, int d, const float *x, float *y, int rows) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        float mean = 0, var = 0;
        for (int i = 0; i < d; i++) mean += xr[i];
        mean /= d;
        for (int i = 0; i < d; i++) var += (xr[i] - mean) * (xr[i] - mean);
        const float scale = 1.0f / sqrtf(var / d + n->eps);
        for (int i = 0; i < d; i++) yr[i] = (xr[i] - mean) * scale * n->weight[i] + n->bias[i];
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

static void self_attention(const Layer *L, float *x, int groups, int width, float *kv,
                           long capacity, int length, const unsigned char *self_mask,
                           float *h, float *wide, float *context, float *scores,
                           int *chosen) {
    const int d = L->d, heads = L->heads, head_dim = d / heads, rows = groups * width;
    const int entries = length + width;
    const size_t plane = (size_t)groups * heads * capacity * head_dim;
    linear(&L->qkv, sublayer_input(L, &L->self_norm, x, h, rows), rows, wide);
    for (int r = 0; r < rows; r++)
        for (int hd = 0; hd < heads; hd++) {
            const int g = r / width, j = r % width;
            const size_t at = (((size_t)g * heads + hd) * capacity + length + j) * head_dim;
            const float *q = wide + (size_t)r * 3 * d + hd * head_dim;
            memcpy(kv + at, q + d, sizeof(float) * head_dim);
            memcpy(kv + plane + at, q + 2 * d, sizeof(float) * head_dim);
        }
    for (int r = 0; r < rows; r++) {
        const int g = r / width, count = allowed_entries(
                                     self_mask ? self_mask + (size_t)r * entries : NULL,
                                     entries, chosen);
        for (int hd = 0; hd < heads; hd++) {
            const size_t first = ((size_t)g * heads + hd) * capacity * head_dim;
            attend(wide + (size_t)r * 3 * d + hd * head_dim, kv + first, kv + plane + first,
                   chosen, count, head_dim, head_dim, scores,
                   context + (size_t)r * d + hd * head_dim);
        }
    }
    linear(&L->self_out, context, rows, wide);
    residual(L, &L->self_norm, x, wide, rows);
}

static void cross_attention(const Layer *L, float *x, int groups, int width,
                            const float *cross_k, const float *cross_v, int src_len,
                            const unsigned char *memory_mask, float *h, float *wide,
                            float *context, float *scores, int *chosen) {
    const int d = L->d, heads = L->heads, head_dim = d / heads, rows = groups * width;
    linear(&L->cross_q, sublayer_input(L, &L->cross_norm, x, h, rows), rows, wide);
    for (int r = 0; r < rows; r++) {
        const int g = r / width, count = allowed_entries(
                                     memory_mask ? memory_mask + (size_t)g * src_len : NULL,
                                     src_len, chosen);
        for (int hd = 0; hd < heads; hd++) {
            const size_t first = ((size_t)g * heads + hd) * src_len * head_dim;
            attend(wide + (size_t)r * d + hd * head_dim, cross_k + first, cross_v + first,
                   chosen, count, head_dim, head_dim, scores,
                   context + (size_t)r * d + hd * head_dim);
        }
    }
    linear(&L->cross_out, context, rows, wide);
    residual(L, &L->cross_norm, x, wide, rows);
}

static void feed_forward(const Layer *L, float *x, int rows, float *h, float *wide,
                         float *out) {
    linear(&L->w1, sublayer_input(L, &L->ffn_norm, x, h, rows), rows, wide);
    for (size_t i = 0; i < (size_t)rows * L->ffn; i++) {
        const float a = wide[i];
        wide[i] = L->swish ? a / (1.0f + expf(-a)) : (a > 0.0f ? a : 0.0f);
    }
    linear(&L->w2, wide, rows, out);
    residual(L, &L->ffn_norm, x, out, rows);
}

/* Scratch space of a layer over rows: sub-layer inputs, the widest product, attention
 * contexts, and attend's scores and chosen entries for up to keys entries. */
typedef struct {
    float *h, *wide, *context, *scores;
    int *chosen;
} Scratch;

static int scratch_for(Scratch *s, const Layer *L, int rows, int keys) {
    const int widest = 3 * L->d > L->ffn ? 3 * L->d : L->ffn;
    s->h = malloc(sizeof(float) * rows * L->d);
    s->context = malloc(sizeof(float) * rows * L->d);
    s->wide = malloc(sizeof(float) * rows * widest);
    s->scores = malloc(sizeof(float) * keys);
    s->chosen = malloc(sizeof(int) * keys);
    return s->h && s->context && s->wide && s->scores && s->chosen;
}

static void scratch_free(Scratch *s) {
    free(s->h);
    free(s->context);
    free(s->wide);
    free(s->scores);
    free(s->chosen);
}

/* One decoder layer's step. Returns 0, or -1 when scratch memory could not be had (x and kv
 * then unchanged: the caller raises). */
int decoder_layer_step(const Layer *L, float *x, int groups, int width, float *kv,
                       long capacity, int length, const unsigned char *self_mask,
                       const float *cross_k, const float *cross_v, int src_len,
                       const unsigned char *memory_mask) {
    const int rows = groups * width;
    Scratch s;
    const int keys = length + width > src_len ? length + width : src_len;
    const int ready = scratch_for(&s, L, rows, keys);
    if (ready) {
        self_attention(L, x, groups, width, kv, capacity, length, self_mask, s.h, s.wide,
                       s.context, s.scores, s.chosen);
        cross_attention(L, x, groups, width, cross_k, cross_v, src_len, memory_mask, s.h,
                        s.wide, s.context, s.scores, s.chosen);
        feed_forward(L, x, rows, s.h, s.wide, s.context);
    }
    scratch_free(&s);
    return ready ? 0 : -1;
}

/* One encoder layer over batch sentences of length tokens (padding included, which
 * key_mask hides from every query). Returns 0, or -1 as decoder_layer_step. */
int encoder_layer(const Layer *L, float *x, int batch, int length,
                  const unsigned char *key_mask) {
    const int d = L->d, heads = L->heads, head_dim = d / heads, rows = batch * length;
    Scratch s;
    const int ready = scratch_for(&s, L, rows, length);
    if (ready) {
        linear(&L->qkv, sublayer_input(L, &L->self_norm, x, s.h, rows), rows, s.wide);
        for (int r = 0; r < rows; r++) {
            const int b = r / length, count = allowed_entries(
                                          key_mask ? key_mask + (size_t)b * length : NULL,
                                          length, s.chosen);
            for (int hd = 0; hd < heads; hd++) {
                const float *first = s.wide + (size_t)b * length * 3 * d + hd * head_dim;
                attend(s.wide + (size_t)r * 3 * d + hd * head_dim, first + d, first + 2 * d,
                       s.chosen, count, head_dim, (size_t)3 * d, s.scores,
                       s.context + (size_t)r * d + hd * head_dim);
            }
        }
        linear(&L->self_out, s.context, rows, s.wide);
        residual(L, &L->self_norm, x, s.wide, rows);
        feed_forward(L, x, rows, s.h, s.wide, s.context);
    }
    scratch_free(&s);
    return ready ? 0 : -1;
}
