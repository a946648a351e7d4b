/* Vectors of 16 floats through GCC's vector extensions (AVX-512 registers where the CPU has
 * them, pairs of AVX2 ones elsewhere), and the lane-wise helpers the kernels share. */
#ifndef SEQ2SEQ_VECTORS_H
#define SEQ2SEQ_VECTORS_H

#include <math.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

static inline v16 load16(const float *p) {
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

/* The sum of a vector's 16 lanes, halving it four times (shuffles, not copies through memory,
 * so that a sum kept in a loop stays in its register). */
static inline float sum16(v16 v) {
    const v16i upper8 = {8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15},
               upper4 = {4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7},
               upper2 = {2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
               upper1 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    v += __builtin_shuffle(v, upper8);
    v += __builtin_shuffle(v, upper4);
    v += __builtin_shuffle(v, upper2);
    v += __builtin_shuffle(v, upper1);
    return v[0];
}

/* a where mask is set (all bits), else b, lane by lane (casts between vectors of one size
 * reinterpret their bits) */
static inline v16 pick(v16i mask, v16 a, v16 b) {
    return (v16)(((v16i)a & mask) | ((v16i)b & ~mask));
}

/* exp(x) lane by lane, within 2 ulp of expf for x <= 88 (Cephes' expf: x = n ln 2 + r, a
 * degree-5 polynomial for e^r, 2^n put into the exponent); 0 below -87. */
static inline v16 exp16(v16 x) {
    const v16 zero = {0}, lowest = zero - 87.0f, highest = zero + 88.0f;
    v16i underflow = x < lowest;
    x = pick(underflow, lowest, pick(x > highest, highest, x));
    v16 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    v16 r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v16 p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    v16i bits = (__builtin_convertvector(n, v16i) + 127) << 23;
    v16 scale;
    memcpy(&scale, &bits, sizeof scale);
    return pick(underflow, zero, p * scale);
}

/* The largest of a vector's 16 lanes. */
static inline float max16(v16 v) {
    float most = v[0];
    for (int i = 1; i < 16; i++) most = v[i] > most ? v[i] : most;
    return most;
}

#endif
