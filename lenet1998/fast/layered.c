/*
 * layered.c -- the fast path for online (batch-1) training of the layered comparison networks of
 * Fig. 9 (LeCun, Bottou, Bengio & Haffner 1998): the fully connected nets (Sec. III-C.5, III-C.6),
 * LeNet-1 (Sec. III-C.7) and LeNet-4 (Sec. III-C.8), trained with online stochastic diagonal
 * Levenberg-Marquardt (Appendix C), as lenet5.c trains LeNet-5.
 *
 * A network is a list of layers given at run time (Layer below), each followed by the squashing
 * f(a) = 1.7159 tanh(2a/3) (Appendix A):
 *   FULL  a_j = b_j + sum_i w_ji x_i                 weights (n_out, n_in) row-major, then n_out biases
 *   CONV  a_o = b_o + sum over the table's pairs (o, i) of the k x k valid cross-correlation of
 *         input map i with the pair's kernel (stride 1)     kernels (n_pairs, k, k) in pair order, biases
 *   SUB   a_m = c_m mean(2x2 window of input map src[m]) + b_m                 coefficients, then biases
 * The loss of a pattern is E = sum_k (x_k - t_k)^2 over the outputs, t = +1 for the correct class and
 * -1 for the others; the prediction is the largest output. lenet1998/comparison/convnets.py is the
 * readable torch specification; tests/test_fast_layered.py checks this kernel against it.
 *
 * One backward routine serves both uses, as in lenet5.c:
 *   UPDATE: T -= E * g   (one SDLM step; T == the parameters, E == eta / (mu + h_kk))
 *   ACCUM : T += g       (the Gauss-Newton diagonal of Appendix C, Eq. 25-27: fed squared weights,
 *                         squared inputs and squared f', d2a = f'^2 d2x, d2x_in = sum_j w_ji^2 d2a_j,
 *                         h_w = sum over the connections sharing w of d2a x_in^2, h_b = sum d2a)
 *
 * Online training streams the first layer's weights three times a step (forward; read and write
 * for the update). When that layer is FULL, its update is deferred into the next pattern's forward,
 * which computes w - e*g and then the dot product in one sweep: the same operations in the same
 * order (so the same bits) with one sweep less. The pass applies the last deferred update before it
 * returns.
 *
 * Numerics (lenet1998/fast/build.py): float32, built with contraction off and no fast-math for a
 * fixed portable target; every reduction is written out in a fixed order here (8-lane vectors summed
 * by a fixed tree, then a scalar tail in index order); the tanh is our own (no libm). So a library
 * built for any x86-64 target computes the same bits. C (gnu11 vector extensions) + pthreads.
 */
/* The version of this kernel's arithmetic: bump it whenever a change alters any computed bit
 * (operation order, a formula, a constant); tests/test_fast_layered.py pins the bits per version. */
#define LAYERED_NUMERICS 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { LAYER_FULL = 0, LAYER_CONV = 1, LAYER_SUB = 2 };
enum { MODE_UPDATE = 0, MODE_ACCUM = 1 };

#define LAYERED_MAX_LAYERS 8
#define LAYERED_MAX_PAIRS 256 /* CONV connections, or SUB output maps */
#define LAYERED_MAX_MAPS 64   /* CONV input and output maps */
#define MAX_THREADS 64

/* One layer, as the binding (lenet1998/fast/layered.py) fills it. FULL: in_maps x in_h x in_w inputs
 * (the previous layer's output, flattened map-major), out_maps units, out_h = out_w = 1. */
typedef struct {
    int32_t kind;
    int32_t in_maps, in_h, in_w;
    int32_t out_maps, out_h, out_w;
    int32_t k;       /* CONV kernel size */
    int32_t n_pairs; /* CONV: connections (pair_out[c], pair_in[c]); SUB: out_maps, pair_in[m] = src[m] */
    int32_t pair_out[LAYERED_MAX_PAIRS];
    int32_t pair_in[LAYERED_MAX_PAIRS];
} Layer;

static const float A = 1.7159f, S = 2.0f / 3.0f;

/* 8-float vectors (GCC/clang vector extensions; emulated with narrower registers on older targets) */
typedef float v8 __attribute__((vector_size(32)));
static inline v8 v8_load(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
static inline void v8_store(float *p, v8 v) { memcpy(p, &v, sizeof v); }
static inline v8 v8_set(float x) { return (v8){x, x, x, x, x, x, x, x}; }
static inline float v8_sum(v8 a) { return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])); }

/* ---------------------------------------------------------------- plan ------------------ */
/* Sizes and offsets derived from the layer list. Per pattern, a record holds what the backward pass
 * reads (squared wholesale for h_kk); scratch holds the back-propagated quantities. */

typedef struct {
    int kind, nin, nout, k, kk;
    int P, Pp;       /* CONV: positions per output map, and rounded up to a multiple of 8 */
    int w, b;        /* parameter offsets: weights (FULL, CONV) or coefficients (SUB); biases */
    size_t col, s, x, fp; /* record: CONV im2col [in_map][tap][Pp]; SUB window means; outputs; f'(a) */
    size_t dx, d;    /* scratch: dE/dx of the outputs (dense); dE/da (CONV: [out_map][Pp], zero-padded) */
    int out_start[LAYERED_MAX_MAPS + 1], by_out[LAYERED_MAX_PAIRS]; /* CONV pairs of each output map */
    int in_start[LAYERED_MAX_MAPS + 1], by_in[LAYERED_MAX_PAIRS];   /* CONV pairs reading each input map */
} LPlan;

typedef struct {
    int n, total, nin, nout;
    size_t in;             /* record offset of the input copy */
    size_t rec_size, scr_size;
    size_t g, tmp;         /* scratch: CONV weight gradients; one padded map */
    LPlan l[LAYERED_MAX_LAYERS];
} Plan;

static int is_valid(const Layer *L, int n) {
    if (n < 1 || n > LAYERED_MAX_LAYERS) return 0;
    for (int l = 0; l < n; l++) {
        const Layer *y = &L[l];
        if (y->in_maps < 1 || y->in_h < 1 || y->in_w < 1 || y->out_maps < 1 || y->out_h < 1 || y->out_w < 1)
            return 0;
        if (l > 0 && (y->in_maps != L[l - 1].out_maps || y->in_h != L[l - 1].out_h || y->in_w != L[l - 1].out_w))
            return 0;
        if (y->kind == LAYER_FULL) {
            if (y->out_h != 1 || y->out_w != 1 || y->n_pairs != 0) return 0;
        } else if (y->kind == LAYER_CONV) {
            if (y->k < 1 || y->out_h != y->in_h - y->k + 1 || y->out_w != y->in_w - y->k + 1) return 0;
            if (y->in_maps > LAYERED_MAX_MAPS || y->out_maps > LAYERED_MAX_MAPS) return 0;
            if (y->n_pairs < 1 || y->n_pairs > LAYERED_MAX_PAIRS) return 0;
            for (int c = 0; c < y->n_pairs; c++)
                if (y->pair_out[c] < 0 || y->pair_out[c] >= y->out_maps || y->pair_in[c] < 0 ||
                    y->pair_in[c] >= y->in_maps)
                    return 0;
        } else if (y->kind == LAYER_SUB) {
            if (y->in_h % 2 || y->in_w % 2 || y->out_h != y->in_h / 2 || y->out_w != y->in_w / 2) return 0;
            if (y->n_pairs != y->out_maps || y->n_pairs > LAYERED_MAX_PAIRS) return 0;
            for (int m = 0; m < y->n_pairs; m++)
                if (y->pair_in[m] < 0 || y->pair_in[m] >= y->in_maps) return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

static int make_plan(const Layer *L, int n, Plan *pl) {
    if (!is_valid(L, n)) return -2;
    memset(pl, 0, sizeof *pl);
    pl->n = n;
    pl->nin = L[0].in_maps * L[0].in_h * L[0].in_w;
    size_t r = 0, sc = 0, g = 0, tmp = 8;
    int o = 0;
    pl->in = r; r += (size_t)pl->nin;
    for (int l = 0; l < n; l++) {
        const Layer *y = &L[l];
        LPlan *q = &pl->l[l];
        q->kind = y->kind;
        q->nin = y->in_maps * y->in_h * y->in_w;
        q->nout = y->out_maps * y->out_h * y->out_w;
        q->P = y->out_h * y->out_w;
        q->Pp = (q->P + 7) / 8 * 8;
        if (y->kind == LAYER_FULL) {
            q->w = o; o += q->nout * q->nin;
            q->b = o; o += q->nout;
        } else if (y->kind == LAYER_CONV) {
            q->k = y->k; q->kk = y->k * y->k;
            q->w = o; o += y->n_pairs * q->kk;
            q->b = o; o += y->out_maps;
            q->col = r; r += (size_t)y->in_maps * q->kk * q->Pp;
            int c = 0;
            for (int m = 0; m < y->out_maps; m++) { /* stable: table order within each map */
                q->out_start[m] = c;
                for (int t = 0; t < y->n_pairs; t++) if (y->pair_out[t] == m) q->by_out[c++] = t;
            }
            q->out_start[y->out_maps] = c;
            c = 0;
            for (int i = 0; i < y->in_maps; i++) {
                q->in_start[i] = c;
                for (int t = 0; t < y->n_pairs; t++) if (y->pair_in[t] == i) q->by_in[c++] = t;
            }
            q->in_start[y->in_maps] = c;
            if ((size_t)y->n_pairs * q->kk > g) g = (size_t)y->n_pairs * q->kk;
            if ((size_t)q->Pp > tmp) tmp = (size_t)q->Pp;
        } else {
            q->w = o; o += y->out_maps;
            q->b = o; o += y->out_maps;
            q->s = r; r += (size_t)q->nout;
        }
        q->x = r; r += (size_t)q->nout;
        q->fp = r; r += (size_t)q->nout;
        q->dx = sc; sc += (size_t)q->nout;
        q->d = sc; sc += y->kind == LAYER_CONV ? (size_t)y->out_maps * q->Pp : (size_t)q->nout;
        r = (r + 15) / 16 * 16; /* keep every buffer 64-byte aligned */
        sc = (sc + 15) / 16 * 16;
    }
    pl->g = sc; sc += (g + 15) / 16 * 16;
    pl->tmp = sc; sc += (tmp + 15) / 16 * 16;
    pl->total = o;
    pl->nout = pl->l[n - 1].nout;
    pl->rec_size = r;
    pl->scr_size = sc;
    return 0;
}

/* The per-call buffers: two records (alternating patterns, for the deferred update), the squared
 * record of h_kk, and the scratch. One 64-byte aligned block. */
typedef struct { Plan plan; float *rec[2], *sq, *scr; } Ctx;

static Ctx *ctx_new(const Layer *L, int n, int *rc) {
    Plan pl;
    *rc = make_plan(L, n, &pl);
    if (*rc) return NULL;
    const size_t floats = 3 * pl.rec_size + pl.scr_size;
    void *block = NULL;
    if (posix_memalign(&block, 64, sizeof(Ctx) + 64 + floats * sizeof(float)) != 0) { *rc = -1; return NULL; }
    memset(block, 0, sizeof(Ctx) + 64 + floats * sizeof(float));
    Ctx *c = block;
    c->plan = pl;
    float *f = (float *)((char *)block + (sizeof(Ctx) + 63) / 64 * 64);
    c->rec[0] = f; c->rec[1] = f + pl.rec_size; c->sq = f + 2 * pl.rec_size; c->scr = f + 3 * pl.rec_size;
    return c;
}

/* ---------------------------------------------------------------- squashing ------------- */

/* tanh as a rational function (lenet5.c's tanh_r, the 13/6 minimax form used by Eigen): a few ulp,
 * IEEE operations only, vectorizes. */
static inline float tanh_r(float x) {
    const float c = 7.90531110763549805f;
    x = x > c ? c : x;
    x = x < -c ? -c : x;
    const float x2 = x * x;
    float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = x2 * p + -8.60467152213735e-11f;
    p = x2 * p + 5.12229709037114e-08f;
    p = x2 * p + 1.48572235717979e-05f;
    p = x2 * p + 6.37261928875436e-04f;
    p = x2 * p + 4.89352455891786e-03f;
    p = x * p;
    float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = x2 * q + 2.26843463243900e-03f;
    q = x2 * q + 4.89352518554385e-03f;
    return p / q;
}

/* In place: a -> f(a) = A tanh(S a); fp <- f'(a) = A S (1 - tanh^2(S a)). */
static void squash(float *restrict a, float *restrict fp, int n) {
    for (int i = 0; i < n; i++) {
        const float t = tanh_r(S * a[i]);
        a[i] = A * t;
        fp[i] = A * S * (1.0f - t * t);
    }
}

/* ---------------------------------------------------------------- FULL ------------------ */

/* <w, x> over n: 8 lanes over the first n - n % 8 entries, summed by v8_sum, then the tail in order. */
static inline float dot_finish(v8 acc, const float *w, const float *x, int n8, int n) {
    float s = v8_sum(acc);
    for (int i = n8; i < n; i++) s += w[i] * x[i];
    return s;
}

/* a[j] = b_j + <W_j, x>, four rows at a time sharing the loads of x. */
static void full_forward(const LPlan *q, const float *P, const float *x, float *a) {
    const int nin = q->nin, n8 = nin / 8 * 8, nout = q->nout;
    const float *W = P + q->w, *b = P + q->b;
    int j = 0;
    for (; j + 4 <= nout; j += 4) {
        const float *w0 = W + (size_t)j * nin, *w1 = w0 + nin, *w2 = w1 + nin, *w3 = w2 + nin;
        v8 a0 = v8_set(0), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < n8; i += 8) {
            const v8 xv = v8_load(x + i);
            a0 += v8_load(w0 + i) * xv; a1 += v8_load(w1 + i) * xv;
            a2 += v8_load(w2 + i) * xv; a3 += v8_load(w3 + i) * xv;
        }
        a[j] = b[j] + dot_finish(a0, w0, x, n8, nin);
        a[j + 1] = b[j + 1] + dot_finish(a1, w1, x, n8, nin);
        a[j + 2] = b[j + 2] + dot_finish(a2, w2, x, n8, nin);
        a[j + 3] = b[j + 3] + dot_finish(a3, w3, x, n8, nin);
    }
    for (; j < nout; j++) {
        const float *w0 = W + (size_t)j * nin;
        v8 a0 = v8_set(0);
        for (int i = 0; i < n8; i += 8) a0 += v8_load(w0 + i) * v8_load(x + i);
        a[j] = b[j] + dot_finish(a0, w0, x, n8, nin);
    }
}

/* The deferred SDLM update of a first FULL layer fused with the next forward: row by row,
 * W_j <- W_j - E_j * (d_j xo) (the previous pattern's gradient), then a_j = b_j + <W_j, x>. The same
 * operations as full_backward's update followed by full_forward. */
static void full_forward_owed(const LPlan *q, float *P, const float *E, const float *d, const float *xo,
                              const float *x, float *a) {
    const int nin = q->nin, n8 = nin / 8 * 8, nout = q->nout;
    float *W = P + q->w;
    const float *Ew = E + q->w, *b = P + q->b;
    int j = 0;
    for (; j + 2 <= nout; j += 2) {
        float *w0 = W + (size_t)j * nin, *w1 = w0 + nin;
        const float *e0 = Ew + (size_t)j * nin, *e1 = e0 + nin;
        const v8 d0 = v8_set(d[j]), d1 = v8_set(d[j + 1]);
        v8 a0 = v8_set(0), a1 = a0;
        for (int i = 0; i < n8; i += 8) {
            const v8 xv = v8_load(x + i), ov = v8_load(xo + i);
            const v8 u0 = v8_load(w0 + i) - v8_load(e0 + i) * (d0 * ov);
            const v8 u1 = v8_load(w1 + i) - v8_load(e1 + i) * (d1 * ov);
            v8_store(w0 + i, u0); v8_store(w1 + i, u1);
            a0 += u0 * xv; a1 += u1 * xv;
        }
        for (int i = n8; i < nin; i++) {
            w0[i] -= e0[i] * (d[j] * xo[i]);
            w1[i] -= e1[i] * (d[j + 1] * xo[i]);
        }
        a[j] = b[j] + dot_finish(a0, w0, x, n8, nin);
        a[j + 1] = b[j + 1] + dot_finish(a1, w1, x, n8, nin);
    }
    for (; j < nout; j++) {
        float *w0 = W + (size_t)j * nin;
        const float *e0 = Ew + (size_t)j * nin;
        const v8 d0 = v8_set(d[j]);
        v8 a0 = v8_set(0);
        for (int i = 0; i < n8; i += 8) {
            const v8 u0 = v8_load(w0 + i) - v8_load(e0 + i) * (d0 * v8_load(xo + i));
            v8_store(w0 + i, u0);
            a0 += u0 * v8_load(x + i);
        }
        for (int i = n8; i < nin; i++) w0[i] -= e0[i] * (d[j] * xo[i]);
        a[j] = b[j] + dot_finish(a0, w0, x, n8, nin);
    }
}

/* T <- T - E*v (UPDATE) or T <- T + v (ACCUM), for one entry and for 8 */
#define APPLY(mode, T, E, idx, v) \
    do { if ((mode) == MODE_UPDATE) (T)[idx] -= (E)[idx] * (v); else (T)[idx] += (v); } while (0)
static inline __attribute__((always_inline)) void apply8(int mode, float *T, const float *E, size_t idx, v8 v) {
    if (mode == MODE_UPDATE) v8_store(T + idx, v8_load(T + idx) - v8_load(E + idx) * v);
    else v8_store(T + idx, v8_load(T + idx) + v);
}

/* Backward through a FULL layer: d = dx * fp; dxin_i = sum_j W_ji d_j in order of j (when dxin is
 * not NULL); weight gradients d_j x_i to T through `mode`, unless `defer` (the caller owes them);
 * bias gradients d_j. In UPDATE mode T may equal W: each weight is read before it is written. */
static inline __attribute__((always_inline)) void full_backward(
        const LPlan *q, const float *W, float *T, const float *E, const float *x, const float *fp,
        const float *dx, float *d, float *dxin, const int mode, const int defer) {
    const int nin = q->nin, n8 = nin / 8 * 8, nout = q->nout;
    for (int j = 0; j < nout; j++) d[j] = dx[j] * fp[j];
    if (dxin) {
        for (int i = 0; i < nin; i++) dxin[i] = 0.0f;
        for (int j = 0; j < nout; j++) {
            const float dj = d[j];
            const v8 dv = v8_set(dj);
            const size_t row = q->w + (size_t)j * nin;
            const float *wj = W + row;
            for (int i = 0; i < n8; i += 8) {
                const v8 wv = v8_load(wj + i), xv = v8_load(x + i);
                v8_store(dxin + i, v8_load(dxin + i) + wv * dv);
                apply8(mode, T, E, row + i, dv * xv);
            }
            for (int i = n8; i < nin; i++) {
                dxin[i] += wj[i] * dj;
                APPLY(mode, T, E, row + i, dj * x[i]);
            }
        }
    } else if (!defer) {
        for (int j = 0; j < nout; j++) {
            const float dj = d[j];
            const v8 dv = v8_set(dj);
            const size_t row = q->w + (size_t)j * nin;
            for (int i = 0; i < n8; i += 8) apply8(mode, T, E, row + i, dv * v8_load(x + i));
            for (int i = n8; i < nin; i++) APPLY(mode, T, E, row + i, dj * x[i]);
        }
    }
    for (int j = 0; j < nout; j++) APPLY(mode, T, E, q->b + j, d[j]);
}

/* ---------------------------------------------------------------- CONV ------------------ */

/* im2col of the input maps into col[i][tap][Pp] (padding zero), then per output map
 * a[p] = b_o + sum over its pairs (table order) and taps (row-major) of w * col. */
static void conv_forward(const Layer *y, const LPlan *q, const float *P, const float *x, float *col, float *acc,
                         float *a) {
    const int k = q->k, kk = q->kk, Pp = q->Pp, ow = y->out_w, hw = y->in_h * y->in_w;
    for (int i = 0; i < y->in_maps; i++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *c = col + ((size_t)i * kk + ki * k + kj) * Pp;
                const float *xi = x + (size_t)i * hw + ki * y->in_w + kj;
                for (int r = 0; r < y->out_h; r++) memcpy(c + r * ow, xi + r * y->in_w, ow * sizeof(float));
                for (int p = q->P; p < Pp; p++) c[p] = 0.0f;
            }
    const float *W = P + q->w, *b = P + q->b;
    for (int o = 0; o < y->out_maps; o++) {
        for (int p = 0; p < Pp; p += 8) v8_store(acc + p, v8_set(b[o]));
        for (int t = q->out_start[o]; t < q->out_start[o + 1]; t++) {
            const int c = q->by_out[t];
            const float *ci = col + (size_t)y->pair_in[c] * kk * Pp, *wc = W + c * kk;
            for (int tap = 0; tap < kk; tap++) {
                const v8 wv = v8_set(wc[tap]);
                const float *ct = ci + (size_t)tap * Pp;
                for (int p = 0; p < Pp; p += 8) v8_store(acc + p, v8_load(acc + p) + wv * v8_load(ct + p));
            }
        }
        memcpy(a + (size_t)o * q->P, acc, q->P * sizeof(float));
    }
}

/* sum_p u[p] v[p] over Pp (a multiple of 8) in 8 lanes */
static inline float dot_p(const float *u, const float *v, int Pp) {
    v8 s = v8_set(0);
    for (int p = 0; p < Pp; p += 8) s += v8_load(u + p) * v8_load(v + p);
    return v8_sum(s);
}

/* Backward through a CONV layer: d = dx * fp (padded); dxin (when not NULL) from the weights before
 * their update: per input map and tap the column gradient sum over the pairs reading the map (table
 * order) of w * d, added back by col2im (taps in order); then the weight gradients <d_o, col_i,tap>
 * and bias gradients sum_p d_o into T through `mode`. */
static inline __attribute__((always_inline)) void conv_backward(
        const Layer *y, const LPlan *q, const float *W, float *T, const float *E, const float *col,
        const float *fp, const float *dx, float *d, float *dxin, float *g, float *tmp, const int mode) {
    const int k = q->k, kk = q->kk, P = q->P, Pp = q->Pp, ow = y->out_w;
    for (int o = 0; o < y->out_maps; o++) {
        float *dd = d + (size_t)o * Pp;
        for (int p = 0; p < P; p++) dd[p] = dx[(size_t)o * P + p] * fp[(size_t)o * P + p];
        for (int p = P; p < Pp; p++) dd[p] = 0.0f;
    }
    if (dxin) {
        const int hw = y->in_h * y->in_w;
        memset(dxin, 0, sizeof(float) * (size_t)y->in_maps * hw);
        for (int i = 0; i < y->in_maps; i++)
            for (int tap = 0; tap < kk; tap++) {
                for (int p = 0; p < Pp; p += 8) v8_store(tmp + p, v8_set(0));
                for (int t = q->in_start[i]; t < q->in_start[i + 1]; t++) {
                    const int c = q->by_in[t];
                    const v8 wv = v8_set(W[q->w + c * kk + tap]);
                    const float *dd = d + (size_t)y->pair_out[c] * Pp;
                    for (int p = 0; p < Pp; p += 8) v8_store(tmp + p, v8_load(tmp + p) + wv * v8_load(dd + p));
                }
                const int ki = tap / k, kj = tap % k;
                for (int r = 0; r < y->out_h; r++) {
                    float *row = dxin + (size_t)i * hw + (r + ki) * y->in_w + kj;
                    const float *cr = tmp + r * ow;
                    for (int cc = 0; cc < ow; cc++) row[cc] += cr[cc];
                }
            }
    }
    for (int c = 0; c < y->n_pairs; c++) {
        const float *dd = d + (size_t)y->pair_out[c] * Pp, *ci = col + (size_t)y->pair_in[c] * kk * Pp;
        for (int tap = 0; tap < kk; tap++) g[c * kk + tap] = dot_p(dd, ci + (size_t)tap * Pp, Pp);
    }
    for (int i = 0; i < y->n_pairs * kk; i++) APPLY(mode, T, E, q->w + i, g[i]);
    for (int o = 0; o < y->out_maps; o++) {
        const float *dd = d + (size_t)o * Pp;
        v8 s = v8_set(0);
        for (int p = 0; p < Pp; p += 8) s += v8_load(dd + p);
        APPLY(mode, T, E, q->b + o, v8_sum(s));
    }
}

/* ---------------------------------------------------------------- SUB ------------------- */

/* s = mean of each 2x2 window of map src[m]; a = c_m s + b_m. */
static void sub_forward(const Layer *y, const LPlan *q, const float *P, const float *x, float *s, float *a) {
    const int oh = y->out_h, ow = y->out_w, iw = y->in_w, hw = y->in_h * y->in_w;
    const float *coef = P + q->w, *b = P + q->b;
    for (int m = 0; m < y->out_maps; m++) {
        const float *xm = x + (size_t)y->pair_in[m] * hw;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const float *t = xm + (2 * i) * iw + 2 * j;
                const int u = (m * oh + i) * ow + j;
                s[u] = 0.25f * ((t[0] + t[1]) + (t[iw] + t[iw + 1]));
                a[u] = coef[m] * s[u] + b[m];
            }
    }
}

/* Backward through a SUB layer: d = dx * fp; coefficient gradient sum_u d s, bias gradient sum_u d
 * (in window order); dxin (when not NULL) += pool_scale c_m d on the 4 inputs of each window, output
 * maps in order. UPDATE: pool_scale = 1/4 and W the parameters; ACCUM (h_kk): pool_scale = 1/16, W the
 * squared parameters and s the squared means (the square-of-sum reading of the coefficient's h_kk). */
static inline __attribute__((always_inline)) void sub_backward(
        const Layer *y, const LPlan *q, const float *W, float *T, const float *E, const float *s,
        const float *fp, const float *dx, float *dxin, const int mode, const float pool_scale) {
    const int oh = y->out_h, ow = y->out_w, iw = y->in_w, hw = y->in_h * y->in_w;
    if (dxin) memset(dxin, 0, sizeof(float) * (size_t)y->in_maps * hw);
    for (int m = 0; m < y->out_maps; m++) {
        const float scale = pool_scale * W[q->w + m];
        float gc = 0.0f, gb = 0.0f;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const int u = (m * oh + i) * ow + j;
                const float du = dx[u] * fp[u];
                gc += du * s[u];
                gb += du;
                if (dxin) {
                    const float v = scale * du;
                    float *t = dxin + (size_t)y->pair_in[m] * hw + (2 * i) * iw + 2 * j;
                    t[0] += v; t[1] += v; t[iw] += v; t[iw + 1] += v;
                }
            }
        APPLY(mode, T, E, q->w + m, gc);
        APPLY(mode, T, E, q->b + m, gb);
    }
}

/* ---------------------------------------------------------------- whole net ------------- */

/* Forward the pattern in rec + in. With `E` (online training, first layer FULL), the first layer's
 * owed update (gradient d_0 x xo, from the scratch) is applied in the same sweep. */
static void forward(const Layer *L, const Plan *pl, float *P, float *rec, float *scr, const float *E,
                    const float *xo) {
    for (int l = 0; l < pl->n; l++) {
        const LPlan *q = &pl->l[l];
        const float *x = l ? rec + pl->l[l - 1].x : rec + pl->in;
        float *a = rec + q->x;
        if (q->kind == LAYER_FULL) {
            if (l == 0 && E) full_forward_owed(q, P, E, scr + q->d, xo, x, a);
            else full_forward(q, P, x, a);
        } else if (q->kind == LAYER_CONV) {
            conv_forward(&L[l], q, P, x, rec + q->col, scr + pl->tmp, a);
        } else {
            sub_forward(&L[l], q, P, x, rec + q->s, a);
        }
        squash(a, rec + q->fp, q->nout);
    }
}

/* Backward from dE/dx of the outputs (scratch dx of the last layer) to the first layer. `W` supplies
 * the weights that propagate (the parameters, or their squares), `rec` the layer inputs, f' and means
 * (or their squares); results go to T through `mode`. `defer`: the first layer's weight gradients
 * are owed (UPDATE with a FULL first layer; full_forward_owed or train_pass applies them). */
static inline __attribute__((always_inline)) void backward(
        const Layer *L, const Plan *pl, const float *W, float *T, const float *E, const float *rec, float *scr,
        const int mode, const float pool_scale, const int defer) {
    for (int l = pl->n - 1; l >= 0; l--) {
        const LPlan *q = &pl->l[l];
        const float *x = l ? rec + pl->l[l - 1].x : rec + pl->in;
        float *dxin = l ? scr + pl->l[l - 1].dx : NULL;
        if (q->kind == LAYER_FULL)
            full_backward(q, W, T, E, x, rec + q->fp, scr + q->dx, scr + q->d, dxin, mode, defer && l == 0);
        else if (q->kind == LAYER_CONV)
            conv_backward(&L[l], q, W, T, E, rec + q->col, rec + q->fp, scr + q->dx, scr + q->d, dxin,
                          scr + pl->g, scr + pl->tmp, mode);
        else
            sub_backward(&L[l], q, W, T, E, rec + q->s, rec + q->fp, scr + q->dx, dxin, mode, pool_scale);
    }
}

static int predict(const float *out, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (out[i] > out[best]) best = i;
    return best;
}

/* ---------------------------------------------------------------- public API ------------ */

int layered_numerics(void) { return LAYERED_NUMERICS; }
int layered_sizeof_layer(void) { return (int)sizeof(Layer); }
int layered_max_layers(void) { return LAYERED_MAX_LAYERS; }

/* The parameter count, or -2 if the layer list is inconsistent. */
int layered_param_count(const Layer *L, int n) {
    Plan pl;
    return make_plan(L, n, &pl) ? -2 : pl.total;
}

/* Forward `count` patterns (each nin floats): out[count][nout]; with feat_layer >= 0 also that layer's
 * outputs into feat[count][its size]. Returns 0, -1 (no memory) or -2 (bad layer list). */
int layered_forward(const Layer *L, int n, const float *P, const float *X, int64_t count, float *out,
                    int feat_layer, float *feat) {
    int rc;
    Ctx *c = ctx_new(L, n, &rc);
    if (!c) return rc;
    const Plan *pl = &c->plan;
    if (feat_layer >= pl->n) { free(c); return -2; }
    float *rec = c->rec[0];
    for (int64_t s = 0; s < count; s++) {
        memcpy(rec + pl->in, X + s * pl->nin, sizeof(float) * pl->nin);
        forward(L, pl, (float *)P, rec, c->scr, NULL, NULL); /* no E: P is only read */
        memcpy(out + s * pl->nout, rec + pl->l[pl->n - 1].x, sizeof(float) * pl->nout);
        if (feat_layer >= 0) {
            const LPlan *q = &pl->l[feat_layer];
            memcpy(feat + s * q->nout, rec + q->x, sizeof(float) * q->nout);
        }
    }
    free(c);
    return 0;
}

typedef struct {
    const Layer *L; int n; const float *P, *X; float *out; int feat_layer; float *feat;
    int64_t begin, end; int64_t nin, nout, nfeat; int rc;
} FwdJob;

static void *fwd_worker(void *arg) {
    FwdJob *j = arg;
    j->rc = layered_forward(j->L, j->n, j->P, j->X + j->begin * j->nin, j->end - j->begin,
                            j->out + j->begin * j->nout, j->feat_layer, j->feat ? j->feat + j->begin * j->nfeat : NULL);
    return NULL;
}

/* The same forward split over `nthreads` threads (each pattern's result does not depend on it). */
int layered_forward_mt(const Layer *L, int n, const float *P, const float *X, int64_t count, float *out,
                       int feat_layer, float *feat, int nthreads) {
    Plan pl;
    if (make_plan(L, n, &pl) || feat_layer >= pl.n) return -2;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    if (nthreads > count) nthreads = count > 0 ? (int)count : 1;
    FwdJob jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    const int64_t nfeat = feat_layer >= 0 ? pl.l[feat_layer].nout : 0;
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (FwdJob){L, n, P, X, out, feat_layer, feat, count * t / nthreads, count * (t + 1) / nthreads,
                           pl.nin, pl.nout, nfeat, 0};
        if (t > 0) started[t] = pthread_create(&th[t], NULL, fwd_worker, &jobs[t]) == 0;
        if (t > 0 && !started[t]) fwd_worker(&jobs[t]);
    }
    fwd_worker(&jobs[0]);
    int rc = jobs[0].rc;
    for (int t = 1; t < nthreads; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        if (jobs[t].rc) rc = jobs[t].rc;
    }
    return rc;
}

/* h_kk: the mean over patterns idx[0..count-1] (all `count` rows of X if idx is NULL) of the
 * Gauss-Newton diagonal of Appendix C at fixed weights, the loss curvature d2E/dx_k^2 = out_curv at
 * every output (2 for the squared error). The sum over patterns is accumulated in pattern order. */
int layered_hkk(const Layer *L, int n, const float *P, const float *X, const int64_t *idx, int64_t count,
                float out_curv, float *h) {
    int rc;
    Ctx *c = ctx_new(L, n, &rc);
    if (!c) return rc;
    const Plan *pl = &c->plan;
    float *Wsq = malloc(sizeof(float) * pl->total);
    float *sum = calloc(pl->total, sizeof(float));
    if (!Wsq || !sum) { free(c); free(Wsq); free(sum); return -1; }
    for (int i = 0; i < pl->total; i++) Wsq[i] = P[i] * P[i];
    float *rec = c->rec[0], *sq = c->sq;
    for (int64_t s = 0; s < count; s++) {
        const int64_t t = idx ? idx[s] : s;
        memcpy(rec + pl->in, X + t * pl->nin, sizeof(float) * pl->nin);
        forward(L, pl, (float *)P, rec, c->scr, NULL, NULL);
        for (size_t i = 0; i < pl->rec_size; i++) sq[i] = rec[i] * rec[i];
        float *dx = c->scr + pl->l[pl->n - 1].dx;
        for (int k = 0; k < pl->nout; k++) dx[k] = out_curv;
        backward(L, pl, Wsq, sum, NULL, sq, c->scr, MODE_ACCUM, 0.0625f, 0);
    }
    for (int i = 0; i < pl->total; i++) h[i] = sum[i] / (float)count;
    free(c); free(Wsq); free(sum);
    return 0;
}

/* One pass of online SDLM steps over patterns order[0..count-1] (0..count-1 if order is NULL): per
 * pattern the forward, E = sum_k (x_k - t_k)^2, its gradient at the current weights, P -= E * grad.
 * loss_sum = the sum of E (each in float, summed in double); errors = the running errors (the
 * prediction made before the pattern's update was wrong). */
int layered_train_pass(const Layer *L, int n, float *P, const float *E, const float *X, const int64_t *labels,
                       const int64_t *order, int64_t count, double *loss_sum, int64_t *errors) {
    int rc;
    Ctx *c = ctx_new(L, n, &rc);
    if (!c) return rc;
    const Plan *pl = &c->plan;
    const int defer = pl->l[0].kind == LAYER_FULL, nout = pl->nout;
    double ls = 0.0;
    int64_t err = 0;
    for (int64_t s = 0; s < count; s++) {
        const int64_t t = order ? order[s] : s;
        const int label = (int)labels[t];
        float *rec = c->rec[s & 1];
        memcpy(rec + pl->in, X + t * pl->nin, sizeof(float) * pl->nin);
        forward(L, pl, P, rec, c->scr, defer && s > 0 ? E : NULL, c->rec[(s + 1) & 1] + pl->in);
        const float *out = rec + pl->l[pl->n - 1].x;
        err += predict(out, nout) != label;
        float *dx = c->scr + pl->l[pl->n - 1].dx, e = 0.0f;
        for (int k = 0; k < nout; k++) {
            const float dk = out[k] - (k == label ? 1.0f : -1.0f);
            e += dk * dk;
            dx[k] = 2.0f * dk;
        }
        ls += e;
        backward(L, pl, P, P, E, rec, c->scr, MODE_UPDATE, 0.25f, defer);
    }
    if (defer && count > 0) { /* the last pattern's owed first-layer update */
        const LPlan *q = &pl->l[0];
        const float *x = c->rec[(count - 1) & 1] + pl->in, *d = c->scr + q->d;
        const int n8 = q->nin / 8 * 8;
        for (int j = 0; j < q->nout; j++) {
            const size_t row = q->w + (size_t)j * q->nin;
            const v8 dv = v8_set(d[j]);
            for (int i = 0; i < n8; i += 8) apply8(MODE_UPDATE, P, E, row + i, dv * v8_load(x + i));
            for (int i = n8; i < q->nin; i++) APPLY(MODE_UPDATE, P, E, row + i, d[j] * x[i]);
        }
    }
    *loss_sum = ls;
    *errors = err;
    free(c);
    return 0;
}

/* ---------------------------------------------------------------- lockstep -------------- */
/* K independent runs of one network, spread over threads. Member m runs exactly the single-run code
 * above on its own parameters, rates, inputs and order, so its result is bit-identical to a solo run. */

typedef struct {
    const Layer *L; int n; float **P; const float **E; const float **X; const int64_t **labels;
    const int64_t **order; const int64_t *count; double *loss_sum; int64_t *errors; float **h; float out_curv;
    int kind; int K; int next; int status;
} Job;

static void *worker(void *arg) {
    Job *j = arg;
    for (;;) {
        const int m = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (m >= j->K) break;
        const int rc = j->kind == 0
            ? layered_train_pass(j->L, j->n, j->P[m], j->E[m], j->X[m], j->labels[m], j->order[m], j->count[m],
                                 &j->loss_sum[m], &j->errors[m])
            : layered_hkk(j->L, j->n, j->P[m], j->X[m], j->order[m], j->count[m], j->out_curv, j->h[m]);
        if (rc) __atomic_store_n(&j->status, rc, __ATOMIC_RELAXED);
    }
    return NULL;
}

static int run_job(Job *j, int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > j->K) nthreads = j->K;
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&th[t], NULL, worker, j) == 0) started = t; else break;
    worker(j);
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    return j->status;
}

int layered_train_pass_many(int K, const Layer *L, int n, float **P, const float **E, const float **X,
                            const int64_t **labels, const int64_t **order, const int64_t *count,
                            double *loss_sum, int64_t *errors, int nthreads) {
    Job j = {L, n, P, E, X, labels, order, count, loss_sum, errors, NULL, 0.0f, 0, K, 0, 0};
    return run_job(&j, nthreads);
}

int layered_hkk_many(int K, const Layer *L, int n, float **P, const float **X, const int64_t **idx,
                     const int64_t *count, float out_curv, float **h, int nthreads) {
    Job j = {L, n, P, NULL, X, NULL, idx, count, NULL, NULL, h, out_curv, 1, K, 0, 0};
    return run_job(&j, nthreads);
}
