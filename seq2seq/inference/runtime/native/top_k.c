/* The k largest scores of each row, largest first (docs/benchmarks.md, "Top-k in one native
 * call"): beam search's choice of the 2k best of a sentence's beam x vocabulary candidates.
 *
 * One pass over the row keeps the k best so far in order; a chunk of 128 scores is read
 * lane by lane only when its maximum beats the k-th best, which after the first chunks is
 * rare. Equal scores keep the order of their columns. seq2seq/inference/runtime/native/
 * selection.py calls it through ctypes.
 */
#include "vectors.h"

#define CHUNK 128

/* Put (value, column) into the best (values, columns), sorted largest first, which hold
 * *count of at most k entries (the smallest falls out when they are full). */
static inline void keep(float *values, long *columns, int *count, int k, float value,
                        long column) {
    int at = *count < k ? (*count)++ : k - 1;
    for (; at > 0 && values[at - 1] < value; at--) {
        values[at] = values[at - 1];
        columns[at] = columns[at - 1];
    }
    values[at] = value;
    columns[at] = column;
}

/* values, columns (rows, k) = the k largest of each row of scores (rows, n), k <= n. */
void top_k(const float *scores, int rows, long n, int k, float *values, long *columns) {
    for (int r = 0; r < rows; r++) {
        const float *row = scores + (size_t)r * n;
        float *best = values + (size_t)r * k;
        long *at = columns + (size_t)r * k;
        int count = 0;
        long c = 0;
        for (; c < k; c++) keep(best, at, &count, k, row[c], c);
        for (; c + CHUNK <= n; c += CHUNK) {
            v16 most = load16(row + c);
            for (int j = 16; j < CHUNK; j += 16) {
                v16 next = load16(row + c + j);
                most = pick(next > most, next, most);
            }
            if (max16(most) <= best[k - 1]) continue;
            for (int j = 0; j < CHUNK; j++)
                if (row[c + j] > best[k - 1]) keep(best, at, &count, k, row[c + j], c + j);
        }
        for (; c < n; c++)
            if (row[c] > best[k - 1]) keep(best, at, &count, k, row[c], c);
    }
}
