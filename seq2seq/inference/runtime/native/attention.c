/* Multi-head attention's core over many rows, threaded (docs/benchmarks.md, "Attention in
 * one native call"): for each sentence, head and query, softmax(q . k / sqrt(head_dim)) over
 * the keys its mask allows, times the values.
 *
 * A decoding step in a batch (100 sentences at beam 4: 400 queries per head over a few dozen
 * keys each) costs PyTorch's operators far more than their arithmetic: batched products of
 * tiny matrices, a masked fill, a softmax and the merge of the heads. Here every query is
 * one pass over its keys, written straight into the merged (batch, tgt, heads * head_dim)
 * layout that the output projection reads. seq2seq/inference/runtime/native/attention.py
 * calls it through ctypes.
 *
 * Layouts (fp32, strides in elements, the last dimension contiguous):
 *   q          (batch, heads, tgt, head_dim), strides q_strides[0..2]
 *   k, v       (batch, heads, src, head_dim), both strides kv_strides[0..2]
 *   mask       (batch, tgt, src) bytes, strides mask_strides[0..1] (0 where broadcast), 1
 *              where a query may attend; NULL: all
 *   out        (batch, tgt, heads * head_dim), contiguous
 */
#include <stdlib.h>

#include "attend.h"

/* Below this many multiply-adds one thread does all: starting the others costs more. */
#define PARALLEL_MIN (1L << 16)

/* Returns 0, or -1 when some thread found no scratch memory (out is then incomplete: the
 * caller raises). */
int attention(const float *q, const long *q_strides, const float *k, const float *v,
              const long *kv_strides, const unsigned char *mask, const long *mask_strides,
              int batch, int heads, int tgt, int src, int head_dim, float *out, int threads) {
    const long work = (long)batch * heads * tgt * src * head_dim;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (work >= PARALLEL_MIN) reduction(| : failed)
    {
        /* each thread's scores, then the entries a query may attend to */
        float *scores = malloc(sizeof(float) * SCORES_ROOM(src) + sizeof(int) * src);
        int *chosen = (int *)(scores + SCORES_ROOM(src));
        failed |= scores == NULL;
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < tgt; t++) {
                if (scores == NULL) continue;
                const int count = allowed_entries(
                    mask ? mask + b * mask_strides[0] + t * mask_strides[1] : NULL, src, chosen);
                for (int h = 0; h < heads; h++) {
                    const long at = b * kv_strides[0] + h * kv_strides[1];
                    attend(q + b * q_strides[0] + h * q_strides[1] + t * q_strides[2], k + at,
                           v + at, chosen, count, head_dim, (size_t)kv_strides[2], scores,
                           out + (((size_t)b * tgt + t) * heads + h) * head_dim);
                }
            }
        free(scores);
    }
    return failed ? -1 : 0;
}
