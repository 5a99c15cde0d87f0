/*
 * Max-norm radius counts over a KD-tree: the compiled kernel of infolens' neighbour engine.
 *
 * For every query point q with radius r, count the points p of the tree with
 * max_c |fl(p_c - q_c)| < r (strict) or <= r, each difference rounded once in double
 * precision: the definition every strategy of infolens.estimators._neighbors uses.
 *
 * The tree is given as flat arrays (built by scikit-learn, read through its public get_arrays):
 * points in tree order (the points of node i are rows start[i] .. end[i] - 1), leaf flags,
 * per-node coordinate bounds lo/hi, children of node i at 2i + 1 and 2i + 2. A node whose whole
 * box lies inside the query cube adds end - start without visiting its points; a node that
 * cannot reach the cube is skipped. Both tests are exact: fl(p - q) is monotone in p, so over
 * a box [lo, hi] it lies between fl(lo - q) and fl(hi - q).
 *
 * Plain C with no Python objects: infolens loads it with ctypes, which releases the GIL, so
 * chunks of queries run on several threads at once. The Python module object only lets the
 * file be found by import.
 */
#include <Python.h>
#include <math.h>
#include <stdint.h>

#define STACK_DEPTH 256

static inline int within(double d, double r, int strict) { return strict ? (d < r) : (d <= r); }

/* max_c |fl(p_c - q_c)| without branches (most candidate points are near the cube's surface,
 * where an early exit is mispredicted half of the time: 2.7x faster in 5-D). */
static inline double max_abs_diff(const double *p, const double *q, int64_t dim) {
    double m = 0.0;
    for (int64_t c = 0; c < dim; c++) {
        const double d = fabs(p[c] - q[c]);
        m = d > m ? d : m;
    }
    return m;
}

/* 1: every point of the box [lo, hi] is within r of q; -1: none is; 0: undecided. */
static inline int classify(const double *lo, const double *hi, const double *q, int64_t dim,
                           double r, int strict) {
    int inside = 1;
    for (int64_t c = 0; c < dim; c++) {
        const double low = lo[c] - q[c];  /* the smallest fl(p_c - q_c) over the box */
        const double high = hi[c] - q[c]; /* the largest */
        if (!within(low, r, strict) || !within(-high, r, strict)) {
            return -1; /* fl(p_c - q_c) >= low >= r, or <= high <= -r, for every p */
        }
        inside &= within(-low, r, strict) & within(high, r, strict);
    }
    return inside;
}

void infolens_count_within(const double *points, int64_t dim, const int64_t *start,
                           const int64_t *end, const uint8_t *leaf, const double *lo,
                           const double *hi, int64_t n_nodes, const double *queries,
                           const double *radius, int64_t n_queries, int strict, int64_t *out) {
    int64_t stack[STACK_DEPTH];
    for (int64_t i = 0; i < n_queries; i++) {
        const double *q = queries + i * dim;
        const double r = radius[i];
        int64_t count = 0, top = 0;
        stack[top++] = 0;
        while (top > 0) {
            const int64_t node = stack[--top];
            const int state = classify(lo + node * dim, hi + node * dim, q, dim, r, strict);
            if (state < 0) {
                continue;
            }
            if (state > 0) {
                count += end[node] - start[node];
            } else if (leaf[node] || 2 * node + 2 >= n_nodes || top + 2 > STACK_DEPTH) {
                if (strict) {
                    for (int64_t j = start[node]; j < end[node]; j++) {
                        count += max_abs_diff(points + j * dim, q, dim) < r;
                    }
                } else {
                    for (int64_t j = start[node]; j < end[node]; j++) {
                        count += max_abs_diff(points + j * dim, q, dim) <= r;
                    }
                }
            } else {
                stack[top++] = 2 * node + 2;
                stack[top++] = 2 * node + 1;
            }
        }
        out[i] = count;
    }
}

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kdcount",
                                    "Max-norm radius counts over a KD-tree (loaded with ctypes).",
                                    -1, NULL};

PyMODINIT_FUNC PyInit__kdcount(void) { return PyModule_Create(&module); }
