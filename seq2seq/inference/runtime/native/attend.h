/* One query's attention over its keys, shared by the layers (layers.c) and multi-head
 * attention over many rows (attention.c). */
#ifndef SEQ2SEQ_ATTEND_H
#define SEQ2SEQ_ATTEND_H

#include "vectors.h"

/* Lane j of the result is the sum of v[j]'s 16 lanes: four rounds of pairwise shuffles and
 * sums (15 of each), where 16 separate sums would take some 120 operations. */
static inline v16 transpose_sums(const v16 v[16]) {
    const v16i halves_a = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
               halves_b = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
               quarters_a = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27},
               quarters_b = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31},
               pairs_a = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29},
               pairs_b = {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31},
               evens = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
               odds = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
    v16 eight[8], four[4], two[2];
    for (int i = 0; i < 8; i++)
        eight[i] = __builtin_shuffle(v[2 * i], v[2 * i + 1], halves_a) +
                   __builtin_shuffle(v[2 * i], v[2 * i + 1], halves_b);
    for (int i = 0; i < 4; i++)
        four[i] = __builtin_shuffle(eight[2 * i], eight[2 * i + 1], quarters_a) +
                  __builtin_shuffle(eight[2 * i], eight[2 * i + 1], quarters_b);
    for (int i = 0; i < 2; i++)
        two[i] = __builtin_shuffle(four[2 * i], four[2 * i + 1], pairs_a) +
                 __builtin_shuffle(four[2 * i], four[2 * i + 1], pairs_b);
    return __builtin_shuffle(two[0], two[1], evens) + __builtin_shuffle(two[0], two[1], odds);
}

/* scores[j] = q . k_e / sqrt(head_dim) for e = chosen[j], j < count; returns the largest. */
static inline float dot_scores(const float *q, const float *keys, int head_dim, size_t stride,
                               const int *chosen, int count, float *scores) {
    const float scale = 1.0f / sqrtf((float)head_dim);
    const int whole = head_dim & ~15;
    float top = -INFINITY;
    for (int first = 0; first < count; first += 16) {
        const int m = count - first < 16 ? count - first : 16;
        v16 parts[16];
        for (int j = 0; j < 16; j++) {
            v16 acc = {0};
            const float *k = keys + (size_t)chosen[first + (j < m ? j : 0)] * stride;
            for (int i = 0; j < m && i < whole; i += 16) acc += load16(q + i) * load16(k + i);
            parts[j] = acc;
        }
        const v16 dots = transpose_sums(parts);
        for (int j = 0; j < m; j++) {
            const float *k = keys + (size_t)chosen[first + j] * stride;
            float dot = dots[j];
            for (int i = whole; i < head_dim; i++) dot += q[i] * k[i];
            scores[first + j] = dot * scale;
            top = scores[first + j] > top ? scores[first + j] : top;
        }
    }
    return top;
}

/* The numbers of the entries e < n that allowed permits (all where it is NULL), into chosen
 * (room for n); returns how many. One list serves every head of a query. */
static inline int allowed_entries(const unsigned char *allowed, int n, int *chosen) {
    int count = 0;
    for (int e = 0; e < n; e++)
        if (!allowed || allowed[e]) chosen[count++] = e;
    return count;
}

/* Room for attend's scores over n entries: whole vectors of 16. */
#define SCORES_ROOM(n) (((size_t)(n) + 15) & ~(size_t)15)

/* out[i .. i + 16 * vectors) = the sum over j < count of weights[j] times value e = chosen[j]
 * at those columns, times inverse: entry by entry, each entry's columns in one pass (its
 * address computed once), with a sum per vector for the even entries and one for the odd,
 * so that no multiply-add waits on the one before it. Inlined with vectors a constant, so
 * that the sums stay in registers. */
static inline __attribute__((always_inline)) void weigh_values(
    int vectors, const float *values, size_t stride, const int *chosen, const float *weights,
    int count, float inverse, int i, float *out) {
    v16 even[4] = {{0}}, odd[4] = {{0}};
    int j = 0;
    for (; j + 2 <= count; j += 2) {
        const float *v0 = values + (size_t)chosen[j] * stride + i;
        const float *v1 = values + (size_t)chosen[j + 1] * stride + i;
        for (int u = 0; u < vectors; u++) {
            even[u] += weights[j] * load16(v0 + 16 * u);
            odd[u] += weights[j + 1] * load16(v1 + 16 * u);
        }
    }
    if (j < count) {
        const float *v0 = values + (size_t)chosen[j] * stride + i;
        for (int u = 0; u < vectors; u++) even[u] += weights[j] * load16(v0 + 16 * u);
    }
    for (int u = 0; u < vectors; u++) store16(out + i + 16 * u, (even[u] + odd[u]) * inverse);
}

/* out (head_dim) = softmax over the entries e in chosen[0..count) of (q . k_e) /
 * sqrt(head_dim), times v_e; key and value e at keys + e * stride and values + e * stride;
 * scores: SCORES_ROOM(count) floats */
static inline void attend(const float *q, const float *keys, const float *values,
                          const int *chosen, int count, int head_dim, size_t stride,
                          float *scores, float *out) {
    const float top = dot_scores(q, keys, head_dim, stride, chosen, count, scores);
    v16 sums = {0};
    int j = 0;
    for (; j + 16 <= count; j += 16) {
        const v16 p = exp16(load16(scores + j) - top);
        store16(scores + j, p);
        sums += p;
    }
    if (j < count) { /* the last few, their lanes past count zeroed */
        const v16i lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        const v16 p = pick(lane < count - j, exp16(load16(scores + j) - top), (v16){0});
        store16(scores + j, p);
        sums += p;
    }
    const float inverse = 1.0f / sum16(sums);
    int i = 0;
    for (; i + 64 <= head_dim; i += 64)
        weigh_values(4, values, stride, chosen, scores, count, inverse, i, out);
    switch ((head_dim - i) / 16) {
    case 3: weigh_values(3, values, stride, chosen, scores, count, inverse, i, out); break;
    case 2: weigh_values(2, values, stride, chosen, scores, count, inverse, i, out); break;
    case 1: weigh_values(1, values, stride, chosen, scores, count, inverse, i, out); break;
    }
    for (i = head_dim & ~15; i < head_dim; i++) {
        float acc = 0;
        for (j = 0; j < count; j++) acc += scores[j] * values[(size_t)chosen[j] * stride + i];
        out[i] = acc * inverse;
    }
}

#endif
