/* Next-token log-probabilities in place (docs/benchmarks.md, "Log-softmax in one native
 * call"): each row of logits minus its log-sum-exp, rows shared among the threads.
 *
 * Beam search normalizes every live row's logits each step: 400 rows of 8,000 for 100
 * sentences at beam 4. PyTorch's out-of-place log-softmax reads each row three times and
 * writes a new tensor; this reads it twice and writes it over itself, its exp 16 lanes at a
 * time. seq2seq/inference/runtime/native/normalize.py calls it through ctypes.
 */
#include "vectors.h"

/* Below this many scores one thread does all: starting the others costs more. */
#define PARALLEL_MIN (1L << 16)

static float row_max(const float *row, long n) {
    long c = 0;
    float most = -INFINITY;
    if (n >= 16) {
        v16 lanes = load16(row);
        for (c = 16; c + 16 <= n; c += 16) {
            v16 next = load16(row + c);
            lanes = pick(next > lanes, next, lanes);
        }
        most = max16(lanes);
    }
    for (; c < n; c++) most = row[c] > most ? row[c] : most;
    return most;
}

/* log(sum(exp(row - most))) + most; most itself where it is -inf (a row of -inf). */
static float log_sum_exp(const float *row, long n, float most) {
    if (most == -INFINITY) return most;
    const v16 top = (v16){0} + most;
    v16 lanes = {0};
    long c = 0;
    for (; c + 16 <= n; c += 16) lanes += exp16(load16(row + c) - top);
    float sum = sum16(lanes);
    for (; c < n; c++) sum += expf(row[c] - most);
    return most + logf(sum);
}

/* x (rows, n) = log_softmax(x) along each row, on up to `threads` threads. */
void log_softmax(float *x, int rows, long n, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if ((long)rows * n >= PARALLEL_MIN)
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        const float shift = log_sum_exp(row, n, row_max(row, n));
        const v16 lanes = (v16){0} + shift;
        long c = 0;
        for (; c + 16 <= n; c += 16) store16(row + c, load16(row + c) - lanes);
        for (; c < n; c++) row[c] -= shift;
    }
}
