/*
 * k-nearest neighbours and radius counts over a KD-tree: the compiled kernels of infolens'
 * neighbour engine.
 *
 * Distances are the max-norm max_c |fl(p_c - q_c)|, or the maximum over groups of coordinates of
 * the Euclidean norm within each, each difference rounded once in double precision: the
 * definition every strategy of infolens.estimators._neighbors uses. infolens_nearest finds the
 * k nearest points of each query; infolens_count_within counts the points with distance < r
 * (strict) or <= r; infolens_sorted_count does so in 1-D from sorted values;
 * infolens_distance_rows gives all distances from a few queries (the brute force).
 *
 * The tree is given as flat arrays (built by scikit-learn, read through its public get_arrays):
 * points in tree order (the points of node i are rows start[i] .. end[i] - 1), leaf flags,
 * per-node coordinate bounds lo/hi, children of node i at 2i + 1 and 2i + 2. In a count, a
 * node whose whole box lies inside the query ball adds end - start without visiting its
 * points; a node that cannot reach the ball is skipped. Both tests are exact: fl(p - q) is
 * monotone in p, so over a box [lo, hi] it lies between fl(lo - q) and fl(hi - q), and every
 * later operation of the norm is monotone too.
 *
 * Plain C with no Python objects: infolens loads it with ctypes, which releases the GIL, so
 * chunks of queries run on several threads at once. The Python module object only lets the
 * file be found by import.
 */
#include <Python.h>
#include <math.h>
#include <stdint.h>

#define STACK_DEPTH 256
#define MAX_DIM 256 /* the trees serve joint dimensions up to 1.6 log2(N); the caller checks */

static inline int within(double d, double r, int strict) { return strict ? (d < r) : (d <= r); }

/* The norm: the max-norm of all coordinates, or the max over groups of consecutive coordinates
 * (group g ends before group_end[g]) of the Euclidean norm within each group, as
 * infolens.estimators._neighbors.pair_distances computes them: squares summed in coordinate
 * order (compiled without FMA contraction), |d| for a group of one coordinate. */
typedef struct {
    int64_t dim;
    const int64_t *group_end;
    int64_t n_groups;
    int euclidean;
} Norm;

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

/* The norm of the coordinate magnitudes a[0..dim) (|differences|, or bounds on them). Every
 * operation is monotone in each a[c], so bounds on the magnitudes bound the norm. */
static inline double norm_of(const double *a, const Norm *norm) {
    double m = 0.0;
    if (!norm->euclidean) {
        for (int64_t c = 0; c < norm->dim; c++) {
            m = a[c] > m ? a[c] : m;
        }
        return m;
    }
    int64_t c = 0;
    for (int64_t g = 0; g < norm->n_groups; g++) {
        const int64_t stop = norm->group_end[g];
        double length;
        if (stop - c == 1) {
            length = a[c++];
        } else {
            double total = a[c] * a[c];
            for (c++; c < stop; c++) {
                total = total + a[c] * a[c];
            }
            length = sqrt(total);
        }
        m = length > m ? length : m;
    }
    return m;
}

static inline double distance(const double *p, const double *q, const Norm *norm) {
    if (!norm->euclidean) {
        return max_abs_diff(p, q, norm->dim);
    }
    double magnitude[MAX_DIM];
    for (int64_t c = 0; c < norm->dim; c++) {
        magnitude[c] = fabs(p[c] - q[c]);
    }
    return norm_of(magnitude, norm);
}

/* Bounds on distance(p, q) over the points p of the box [lo, hi]: per coordinate,
 * fl(lo - q) <= fl(p - q) <= fl(hi - q) (rounding is monotone), so |fl(p - q)| lies between
 * max(0, fl(lo - q), fl(q - hi)) and max(|fl(lo - q)|, |fl(hi - q)|). */
static inline void box_bounds(const double *lo, const double *hi, const double *q, const Norm *norm,
                              double *lower, double *upper) {
    double gap[MAX_DIM], far[MAX_DIM];
    for (int64_t c = 0; c < norm->dim; c++) {
        const double below = lo[c] - q[c], above = q[c] - hi[c];
        const double g = below > above ? below : above;
        gap[c] = g > 0.0 ? g : 0.0;
        const double a = fabs(below), b = fabs(above);
        far[c] = a > b ? a : b;
    }
    *lower = norm_of(gap, norm);
    if (upper != NULL) {
        *upper = norm_of(far, norm);
    }
}

/* The largest s with fl(sqrt(s)) within r (-inf if none): fl(sqrt) is monotone, so a group's
 * Euclidean length fl(sqrt(total)) is within r exactly when total <= this threshold. Found from
 * fl(r * r) in a few ulp steps; it lets the loops over points skip the square roots. */
static double squared_threshold(double r, int strict) {
    if (!within(0.0, r, strict)) {
        return -INFINITY;
    }
    double s = r * r;
    if (s == INFINITY && within(INFINITY, r, strict)) {
        return INFINITY;
    }
    while (!within(sqrt(s), r, strict)) {
        s = nextafter(s, -INFINITY);
    }
    for (double up = nextafter(s, INFINITY); up < INFINITY && within(sqrt(up), r, strict);
         up = nextafter(s, INFINITY)) {
        s = up;
    }
    return s;
}

/* Whether distance(p, q) is within r, for the Euclidean norm of groups, without square roots:
 * thr = squared_threshold(r, strict). The same sums as distance(), compared before the root. */
static inline int within_euclidean(const double *p, const double *q, const Norm *norm, double r,
                                   double thr, int strict) {
    int ok = 1;
    int64_t c = 0;
    for (int64_t g = 0; g < norm->n_groups; g++) {
        const int64_t stop = norm->group_end[g];
        if (stop - c == 1) {
            ok &= within(fabs(p[c] - q[c]), r, strict);
            c++;
            continue;
        }
        double d = p[c] - q[c];
        double total = d * d;
        for (c++; c < stop; c++) {
            d = p[c] - q[c];
            total = total + d * d;
        }
        ok &= total <= thr;
    }
    return ok;
}

void infolens_count_within(const double *points, int64_t dim, const int64_t *group_end,
                           int64_t n_groups, int euclidean, const int64_t *start,
                           const int64_t *end, const uint8_t *leaf, const double *lo,
                           const double *hi, int64_t n_nodes, const double *queries,
                           const double *radius, int64_t n_queries, int strict, int64_t *out) {
    const Norm norm = {dim, group_end, n_groups, euclidean};
    int64_t stack[STACK_DEPTH];
    for (int64_t i = 0; i < n_queries; i++) {
        const double *q = queries + i * dim;
        const double r = radius[i];
        const double thr = euclidean ? squared_threshold(r, strict) : 0.0;
        int64_t count = 0, top = 0;
        stack[top++] = 0;
        while (top > 0) {
            const int64_t node = stack[--top];
            double lower, upper;
            box_bounds(lo + node * dim, hi + node * dim, q, &norm, &lower, &upper);
            if (!within(lower, r, strict)) {
                continue; /* no point of the node is within r */
            }
            if (within(upper, r, strict)) {
                count += end[node] - start[node]; /* every point is */
            } else if (leaf[node] || 2 * node + 2 >= n_nodes || top + 2 > STACK_DEPTH) {
                if (euclidean) {
                    for (int64_t j = start[node]; j < end[node]; j++) {
                        count += within_euclidean(points + j * dim, q, &norm, r, thr, strict);
                    }
                } else if (strict) {
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

/* The k nearest points of every query, nearest first, written to the query's own row,
 * rows[i]: distances dist[rows[i] * k + t] and the points' rows index[position in tree order]
 * in neighbours[rows[i] * k + t]. Children are searched nearest first; a node is pruned when
 * its box's lower bound reaches the current k-th distance, since only points strictly nearer
 * replace one. Ties at the k-th distance keep the point found first. */
void infolens_nearest(const double *points, int64_t dim, const int64_t *group_end, int64_t n_groups,
                      int euclidean, const int64_t *start, const int64_t *end, const uint8_t *leaf,
                      const double *lo, const double *hi, int64_t n_nodes, const double *queries,
                      int64_t n_queries, const int64_t *rows, const int64_t *index, int64_t k,
                      double *dist, int64_t *neighbours) {
    const Norm norm = {dim, group_end, n_groups, euclidean};
    int64_t stack[STACK_DEPTH];
    double bound[STACK_DEPTH];
    for (int64_t i = 0; i < n_queries; i++) {
        const double *q = queries + i * dim;
        double *best = dist + rows[i] * k;
        int64_t *where = neighbours + rows[i] * k;
        for (int64_t t = 0; t < k; t++) {
            best[t] = INFINITY;
            where[t] = -1;
        }
        double thr = INFINITY; /* squared_threshold(best[k - 1], strict), Euclidean only */
        int64_t top = 0;
        stack[top] = 0;
        bound[top++] = 0.0;
        while (top > 0) {
            --top;
            const int64_t node = stack[top];
            if (bound[top] >= best[k - 1]) {
                continue;
            }
            if (leaf[node] || 2 * node + 2 >= n_nodes || top + 2 > STACK_DEPTH) {
                for (int64_t j = start[node]; j < end[node]; j++) {
                    if (euclidean && !within_euclidean(points + j * dim, q, &norm, best[k - 1], thr, 1)) {
                        continue; /* not nearer than the k-th: no square root needed */
                    }
                    const double d = distance(points + j * dim, q, &norm);
                    if (d < best[k - 1]) { /* insertion into the sorted list of k */
                        int64_t t = k - 1;
                        while (t > 0 && best[t - 1] > d) {
                            best[t] = best[t - 1];
                            where[t] = where[t - 1];
                            t--;
                        }
                        best[t] = d;
                        where[t] = j;
                        if (euclidean) {
                            thr = squared_threshold(best[k - 1], 1);
                        }
                    }
                }
                continue;
            }
            const int64_t near = 2 * node + 1, far = 2 * node + 2;
            double d_near, d_far;
            box_bounds(lo + near * dim, hi + near * dim, q, &norm, &d_near, NULL);
            box_bounds(lo + far * dim, hi + far * dim, q, &norm, &d_far, NULL);
            const int near_first = d_near <= d_far; /* the nearer child is popped first */
            stack[top] = near_first ? far : near;
            bound[top++] = near_first ? d_far : d_near;
            stack[top] = near_first ? near : far;
            bound[top++] = near_first ? d_near : d_far;
        }
        for (int64_t t = 0; t < k; t++) {
            where[t] = index[where[t]];
        }
    }
}

/* How many positions beyond i, walking from i through the sorted values in direction sign (+1
 * up, -1 down), hold values within r of v[i]. Along the walk |fl(v_j - v_i)| = sign *
 * fl(v_j - v_i) (negation is exact) never decreases, so those positions form one run. The search
 * starts from a guessed run length: gallop from it, then bisect. */
static int64_t run_within(const double *v, int64_t n, int64_t i, int64_t sign, double r, int strict,
                          int64_t guess) {
    const int64_t limit = sign > 0 ? n - i : i + 1; /* offsets 0 .. limit - 1 exist */
#define INSIDE(t) within((double)sign * (v[i + sign * (t)] - v[i]), r, strict)
    int64_t low = 0, high = limit; /* offset low within (or 0), offset high not (or limit) */
    if (guess > 0 && guess < limit) {
        if (INSIDE(guess)) {
            low = guess;
        } else {
            high = guess;
        }
    }
    int64_t step = 1;
    if (high == limit) {
        while (low + step < limit && INSIDE(low + step)) {
            low += step;
            step *= 2;
        }
        high = low + step < limit ? low + step : limit;
    } else {
        while (high - step > low && !INSIDE(high - step)) {
            high -= step;
            step *= 2;
        }
        low = high - step > low ? high - step : low;
    }
    while (high - low > 1) {
        const int64_t mid = low + (high - low) / 2;
        if (INSIDE(mid)) {
            low = mid;
        } else {
            high = mid;
        }
    }
#undef INSIDE
    return low;
}

/* 1-D counts: for sorted values v and radii r in the same order, out[i] = #{j != i :
 * |fl(v_j - v_i)| < r_i} (strict) or <= r_i. Each search starts from the previous point's run
 * lengths, usually a few positions away. */
void infolens_sorted_count(const double *v, const double *r, int64_t n, int strict, int64_t *out) {
    int64_t above = 0, below = 0;
    for (int64_t i = 0; i < n; i++) {
        above = run_within(v, n, i, 1, r[i], strict, above - 1);
        below = run_within(v, n, i, -1, r[i], strict, below + 1);
        out[i] = above + below;
    }
}

/* Distances from each query to all n points, out[i * n + j] = max_c |fl(p_jc - q_ic)|, from the
 * points' coordinates stored column by column (columns[c * n + j]): the inner loop runs over j,
 * SIMD-wide, for four queries at a time so that each column is read once per four rows. */
void infolens_distance_rows(const double *queries, int64_t n_queries, const double *columns,
                            int64_t n, int64_t dim, double *out) {
    int64_t i = 0;
    for (; i + 4 <= n_queries; i += 4) {
        double *o0 = out + i * n, *o1 = o0 + n, *o2 = o1 + n, *o3 = o2 + n;
        for (int64_t j = 0; j < n; j++) {
            o0[j] = o1[j] = o2[j] = o3[j] = 0.0;
        }
        for (int64_t c = 0; c < dim; c++) {
            const double *q = queries + i * dim + c;
            const double q0 = q[0], q1 = q[dim], q2 = q[2 * dim], q3 = q[3 * dim];
            const double *col = columns + c * n;
            for (int64_t j = 0; j < n; j++) {
                const double p = col[j];
                const double d0 = fabs(p - q0), d1 = fabs(p - q1), d2 = fabs(p - q2), d3 = fabs(p - q3);
                o0[j] = d0 > o0[j] ? d0 : o0[j];
                o1[j] = d1 > o1[j] ? d1 : o1[j];
                o2[j] = d2 > o2[j] ? d2 : o2[j];
                o3[j] = d3 > o3[j] ? d3 : o3[j];
            }
        }
    }
    for (; i < n_queries; i++) {
        double *o = out + i * n;
        for (int64_t j = 0; j < n; j++) {
            o[j] = 0.0;
        }
        for (int64_t c = 0; c < dim; c++) {
            const double qc = queries[i * dim + c];
            const double *col = columns + c * n;
            for (int64_t j = 0; j < n; j++) {
                const double d = fabs(col[j] - qc);
                o[j] = d > o[j] ? d : o[j];
            }
        }
    }
}

/* The largest dimension the tree kernels accept (their per-coordinate scratch arrays). */
int64_t infolens_max_dim(void) { return MAX_DIM; }

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_knn_kernels",
                                    "k-NN searches and radius counts over a KD-tree (loaded with ctypes).",
                                    -1, NULL};

PyMODINIT_FUNC PyInit__knn_kernels(void) { return PyModule_Create(&module); }
