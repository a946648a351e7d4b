/* The k largest scores of each row, largest first (docs/benchmarks.md, "Top-k in one native
 * call"), and beam search's choice among a step's candidates built on it.
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

/* Beam search's choice of each group's candidates (TopCandidates in
 * seq2seq/inference/search/selectors.py): of the group's 2k best scores (fewer where it has
 * fewer), the first k whose token is not eos go on, best first, padded with -inf on the
 * group's best row and eos; those among the first k whose token is eos and whose score is
 * finite end. Groups are shared among up to `threads` threads. Returns how many end.
 *
 * scores (groups, width * vocab): row g * width + j's scores at columns j * vocab + token
 * going_scores, going_rows, going_tokens (groups, k); ended_rows, ended_scores (groups * k)
 * candidates, columns: room for groups * min(2k, width * vocab) scores and columns
 */
long select_top(const float *scores, int groups, int width, long vocab, int k, long eos,
                float *going_scores, long *going_rows, long *going_tokens, long *ended_rows,
                float *ended_scores, float *candidates, long *columns, int threads) {
    const long n = (long)width * vocab, wanted = 2L * k < n ? 2L * k : n;
#pragma omp parallel for num_threads(threads) schedule(static) if ((long)groups * n >= (1L << 16))
    for (int g = 0; g < groups; g++) {
        float *best = candidates + (size_t)g * wanted;
        long *at = columns + (size_t)g * wanted;
        top_k(scores + (size_t)g * n, 1, n, (int)wanted, best, at);
        int going = 0, ended = 0;
        const size_t first = (size_t)g * k;
        for (int i = 0; i < wanted; i++) {
            const long row = (long)g * width + at[i] / vocab, token = at[i] % vocab;
            if (token != eos && going < k) {
                going_scores[first + going] = best[i];
                going_rows[first + going] = row;
                going_tokens[first + going++] = token;
            } else if (token == eos && i < k && best[i] > -INFINITY) {
                ended_rows[first + ended] = row; /* the group's own k slots, packed below */
                ended_scores[first + ended++] = best[i];
            }
        }
        for (int i = ended; i < k; i++) ended_rows[first + i] = -1;
        for (; going < k; going++) {
            going_scores[first + going] = -INFINITY;
            going_rows[first + going] = (long)g * width + at[0] / vocab;
            going_tokens[first + going] = eos;
        }
    }
    long ended = 0;
    for (long i = 0; i < (long)groups * k; i++)
        if (ended_rows[i] >= 0) {
            ended_rows[ended] = ended_rows[i];
            ended_scores[ended++] = ended_scores[i];
        }
    return ended;
}
