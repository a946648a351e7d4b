/* Linear layers in int8 with AVX-512 VNNI (docs/benchmarks.md, "int8 products in one native
 * call"): y = x @ W^T + b with x quantized row by row on the fly (unsigned 8 bits, zero at
 * 128) and W per output (signed 8 bits, symmetric), the products summed exactly in 32-bit
 * integers by vpdpbusd, 64 multiply-adds an instruction.
 *
 * Layouts:
 *   x        (rows, in) fp32
 *   packed   (ceil(out / 16), in4 / 4, 16, 4) int8: for 16 outputs and 4 inputs, the 64
 *            bytes one instruction reads (in4: in rounded up to 4, the rest zeros)
 *   scales   (out) fp32, each output's weight scale; compensation (out) int32, 128 times the
 *            sum of its int8 weights (what the zero point adds); bias (out) fp32 or NULL
 *   y        (rows, out) fp32
 * seq2seq/inference/runtime/native/int8.py packs the weights and calls it through ctypes;
 * layers.c calls int8_rows on its threads' rows.
 */
#include <stdlib.h>

#include "int8.h"
#include "vectors.h"

#ifdef __AVX512VNNI__
#include <immintrin.h>

int int8_available(void) { return 1; }

/* acc += the dot products of a's and w's groups of four bytes, in place (GCC's intrinsic
 * makes it copy the accumulators around every instruction). */
#define DOT4(acc, a, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w))

/* A row of x as unsigned bytes, zero at 128, and its scale (max |x| / 127). */
static void quantize_row(const float *row, int in, int in4, uint8_t *out, float *scale) {
    v16 lanes = {0};
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        const v16 v = load16(row + i), magnitude = pick(v < 0, -v, v);
        lanes = pick(magnitude > lanes, magnitude, lanes);
    }
    float most = max16(lanes);
    for (; i < in; i++) most = fabsf(row[i]) > most ? fabsf(row[i]) : most;
    *scale = most > 0.0f ? most / 127.0f : 1.0f;
    const float inverse = 1.0f / *scale;
    for (i = 0; i < in; i++) out[i] = (uint8_t)(128 + (int)nearbyintf(row[i] * inverse));
    for (i = in; i < in4; i++) out[i] = 128;
}

/* y[o .. o + 16) (fewer at the end) from 16 sums: one fused multiply-add each, the same
 * rounding whichever block computed them. */
static inline void store_outputs(__m512i sums, int o, int out, float x_scale,
                                 const float *scales, const int32_t *compensation,
                                 const float *bias, float *y) {
    const __mmask16 keep = out - o >= 16 ? 0xFFFF : (__mmask16)((1u << (out - o)) - 1);
    const __m512i exact =
        _mm512_sub_epi32(sums, _mm512_maskz_loadu_epi32(keep, compensation + o));
    const __m512 scale =
        _mm512_mul_ps(_mm512_set1_ps(x_scale), _mm512_maskz_loadu_ps(keep, scales + o));
    const __m512 shift = bias ? _mm512_maskz_loadu_ps(keep, bias + o) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(y + o, keep, _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scale, shift));
}

static inline __m512i broadcast4(const uint8_t *row, int k) {
    int32_t four;
    memcpy(&four, row + 4 * k, 4);
    return _mm512_set1_epi32(four);
}

static inline __m512i weights(const int8_t *packed, int block, int quads, int k) {
    return _mm512_loadu_si512(packed + (((size_t)block * quads + k) << 6));
}

/* The sums of four rows (from q0, row_bytes apart) by 64 outputs (blocks b..b + 3). */
static void block4x4(const uint8_t *q0, size_t row_bytes, int quads, const int8_t *packed,
                     int b, __m512i sums[4][4]) {
    const uint8_t *q1 = q0 + row_bytes, *q2 = q1 + row_bytes, *q3 = q2 + row_bytes;
    __m512i s00 = _mm512_setzero_si512(), s01 = s00, s02 = s00, s03 = s00, s10 = s00,
            s11 = s00, s12 = s00, s13 = s00, s20 = s00, s21 = s00, s22 = s00, s23 = s00,
            s30 = s00, s31 = s00, s32 = s00, s33 = s00;
    for (int k = 0; k < quads; k++) {
        const __m512i w0 = weights(packed, b, quads, k), w1 = weights(packed, b + 1, quads, k),
                      w2 = weights(packed, b + 2, quads, k),
                      w3 = weights(packed, b + 3, quads, k);
        const __m512i a0 = broadcast4(q0, k), a1 = broadcast4(q1, k), a2 = broadcast4(q2, k),
                      a3 = broadcast4(q3, k);
        DOT4(s00, a0, w0); DOT4(s01, a0, w1); DOT4(s02, a0, w2); DOT4(s03, a0, w3);
        DOT4(s10, a1, w0); DOT4(s11, a1, w1); DOT4(s12, a1, w2); DOT4(s13, a1, w3);
        DOT4(s20, a2, w0); DOT4(s21, a2, w1); DOT4(s22, a2, w2); DOT4(s23, a2, w3);
        DOT4(s30, a3, w0); DOT4(s31, a3, w1); DOT4(s32, a3, w2); DOT4(s33, a3, w3);
    }
    const __m512i all[4][4] = {
        {s00, s01, s02, s03}, {s10, s11, s12, s13}, {s20, s21, s22, s23}, {s30, s31, s32, s33}};
    memcpy(sums, all, sizeof all);
}

/* Sums of one row by 16 outputs (block b). */
static __m512i block1x1(const uint8_t *q0, int quads, const int8_t *packed, int b) {
    __m512i sum = _mm512_setzero_si512();
    for (int k = 0; k < quads; k++) DOT4(sum, broadcast4(q0, k), weights(packed, b, quads, k));
    return sum;
}

/* Outputs [16 * b0, 16 * (b0 + 4)) of every row: blocks of four rows, then the rest alone. */
static void product_blocks(const uint8_t *q, const float *x_scales, int rows, int in4,
                           const Int8Weights *w, const float *bias, int out, int b0,
                           float *y) {
    const int quads = in4 / 4, blocks = (out + 15) / 16;
    int r = 0;
    if (b0 + 4 <= blocks)
        for (; r + 4 <= rows; r += 4) {
            __m512i sums[4][4];
            block4x4(q + (size_t)r * in4, in4, quads, w->packed, b0, sums);
            for (int i = 0; i < 4; i++)
                for (int c = 0; c < 4; c++)
                    store_outputs(sums[i][c], 16 * (b0 + c), out, x_scales[r + i], w->scales,
                                  w->compensation, bias, y + (size_t)(r + i) * out);
        }
    for (; r < rows; r++)
        for (int b = b0; b < blocks && b < b0 + 4; b++)
            store_outputs(block1x1(q + (size_t)r * in4, quads, w->packed, b), 16 * b, out,
                          x_scales[r], w->scales, w->compensation, bias, y + (size_t)r * out);
}

void int8_rows(const float *x, int rows, int in, const Int8Weights *w, const float *bias,
               int out, float *y, uint8_t *q, float *x_scales) {
    const int in4 = (in + 3) & ~3, blocks = (out + 15) / 16;
    for (int r = 0; r < rows; r++)
        quantize_row(x + (size_t)r * in, in, in4, q + (size_t)r * in4, x_scales + r);
    for (int b0 = 0; b0 < blocks; b0 += 4)
        product_blocks(q, x_scales, rows, in4, w, bias, out, b0, y);
}

/* One layer's product on up to `threads` threads. Returns 0, or -1 when scratch memory
 * could not be had (y then unchanged). */
int int8_linear(const float *x, int rows, int in, const int8_t *packed, const float *scales,
                const int32_t *compensation, const float *bias, int out, float *y,
                int threads) {
    const int in4 = (in + 3) & ~3, blocks = (out + 15) / 16;
    const Int8Weights w = {packed, scales, compensation};
    uint8_t *q = malloc((size_t)rows * in4);
    float *x_scales = malloc(sizeof(float) * (rows > 0 ? rows : 1));
    if (!q || !x_scales) {
        free(q);
        free(x_scales);
        return -1;
    }
    const long work = (long)rows * in * out;
#pragma omp parallel num_threads(threads) if (work >= (1L << 20))
    {
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++)
            quantize_row(x + (size_t)r * in, in, in4, q + (size_t)r * in4, x_scales + r);
#pragma omp for schedule(static)
        for (int b0 = 0; b0 < blocks; b0 += 4)
            product_blocks(q, x_scales, rows, in4, &w, bias, out, b0, y);
    }
    free(q);
    free(x_scales);
    return 0;
}
#else
int int8_available(void) { return 0; }

void int8_rows(const float *x, int rows, int in, const Int8Weights *w, const float *bias,
               int out, float *y, uint8_t *q, float *x_scales) {}

int int8_linear(const float *x, int rows, int in, const int8_t *packed, const float *scales,
                const int32_t *compensation, const float *bias, int out, float *y,
                int threads) {
    return -2;
}
#endif
