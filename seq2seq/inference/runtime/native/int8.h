/* int8 products (int8.c) for the other kernels: the layers (layers.c) run them row range by
 * row range on their own threads. */
#ifndef SEQ2SEQ_INT8_H
#define SEQ2SEQ_INT8_H

#include <stdint.h>

/* A linear layer's weights as int8.c reads them (its header comment gives the layouts). */
typedef struct {
    const int8_t *packed;
    const float *scales;
    const int32_t *compensation;
} Int8Weights;

/* y (rows, out) = x (rows, in) @ W^T + bias on the calling thread, x quantized into the
 * caller's scratch: q (rows * in rounded up to 4) bytes and x_scales (rows) floats. */
void int8_rows(const float *x, int rows, int in, const Int8Weights *w, const float *bias,
               int out, float *y, uint8_t *q, float *x_scales);

#endif
