/*
 * lenet5.c -- the fast path for online (batch-1) training of LeNet-5
 * (LeCun, Bottou, Bengio & Haffner 1998, Sec. II-B, Appendices A and C).
 *
 * One C function call runs a whole pass of online SDLM steps (forward, MAP/MLE loss, backward,
 * per-parameter update), so the per-step cost is arithmetic, not framework overhead.
 * It computes exactly what the plain-autograd reference path in lenet1998/ computes
 * (tests/test_fastpath.py checks parameters, gradients and h_kk against it).
 *
 * The same backward routine serves three modes:
 *   UPDATE: T -= E * g          (one SDLM step; T == parameters, E == eta / (mu + h_kk))
 *   ACCUM : T += g              (gradient only, for tests; or second derivatives, below)
 * For the Gauss-Newton diagonal (Appendix C, Eq. 25-27) the routine is fed squared weights,
 * squared inputs and squared f' (d2E/da_i^2 = f'(a_i)^2 sum_k w_ki^2 d2E/da_k^2,
 * d2E/dw_ij^2 = sum over shared connections of x_j^2 d2E/da_i^2) in ACCUM mode.
 *
 * Parameter layout (must match lenet1998.model.LeNet5.parameters() order):
 *   C1.weight (6,1,5,5) C1.bias (6) [S2.coef (6) S2.bias (6)] C3.weight (n_c3,5,5) C3.bias (16)
 *   [S4.coef (16) S4.bias (16)] C5.weight (120,16,5,5) C5.bias (120) F6.weight (n6,120) F6.bias (n6)
 *   [output.centers (10,n6) if trainable RBF | output.weight (10,n6) output.bias (10) if linear], n6 = 84
 *
 * C (gnu11: GCC/clang vector extensions) + pthreads, no dependency on torch or libm; loaded with
 * ctypes. Built with contraction off and no fast-math (build.py), and every reduction is written
 * in a fixed order here, so any target computes the same bits; exp and log are our own (below).
 */
/* The version of this kernel's arithmetic: bump it whenever a change alters any computed bit
 * (operation order, a formula, a constant). tests/test_determinism.py pins the bits of short runs
 * per version, so an unversioned change fails there. Part of every run's numeric build id. */
#define LENET5_NUMERICS 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ACT_SCALED_TANH = 0, ACT_SIGMOID = 1, ACT_RELU = 2 };
enum { SUB_SUM = 0, SUB_AVERAGE = 1, SUB_AVGPOOL = 2, SUB_MAXPOOL = 3 };
enum { OUT_RBF = 0, OUT_LINEAR = 1 };
enum { LOSS_MAP = 0, LOSS_MLE = 1, LOSS_CE = 2, LOSS_LUSH = 3 };
enum { CURV_SQUARES = 0, CURV_SQUARE_OF_SUM = 1 };
enum { MODE_UPDATE = 0, MODE_ACCUM = 1 };

#define MAXC3 96
#define P3 104 /* C3 output rows padded from 100 to 13 vectors of 8 */

typedef struct {
    int32_t act, sub, output, loss;
    int32_t rbf_trainable;
    int32_t n_c3;
    float map_j;
    float out_curv; /* d2E/dx_k^2 at the F6 outputs (Gauss-Newton of y_D = sum (x-w)^2: 2) */
    int32_t c3_out[MAXC3];
    int32_t c3_in[MAXC3]; /* connections sorted by output map */
    int32_t n6;           /* F6 units: 84 (the paper), fewer for Lush's demo (10) */
    int32_t sub_curv;     /* subsampling coefficient curvature: sum_j x_j^2 (Eq. 23) or (sum_j x_j)^2 (Lush) */
} Net;

typedef struct {
    int w1, b1, c2, b2, w3, b3, c4, b4, w5, b5, w6, b6, out_w, out_b, total;
    int c3_start[17]; /* connections of C3 map o are c3_start[o] .. c3_start[o+1]-1 */
    int in_count[6], in_conn[6][16]; /* the connections reading S2 map i */
} Layout;

static const float A = 1.7159f, S = 2.0f / 3.0f;

/* 8-float vectors (GCC/clang vector extensions; AVX with -march=native, emulated elsewhere) */
typedef float v8 __attribute__((vector_size(32)));
static inline v8 v8_load(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
static inline void v8_store(float *p, v8 v) { memcpy(p, &v, sizeof v); }
static inline v8 v8_set(float x) { return (v8){x, x, x, x, x, x, x, x}; }
static inline float v8_sum(v8 a) { return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])); }

/* out[k] = <d, cols[k]> for 5 consecutive rows of length n (a multiple of 8), sharing the loads of d */
static inline void dot5(const float *d, const float *cols, int stride, int n, float *out) {
    v8 a0 = v8_set(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    for (int p = 0; p < n; p += 8) {
        const v8 dv = v8_load(d + p);
        a0 += dv * v8_load(cols + p);
        a1 += dv * v8_load(cols + stride + p);
        a2 += dv * v8_load(cols + 2 * stride + p);
        a3 += dv * v8_load(cols + 3 * stride + p);
        a4 += dv * v8_load(cols + 4 * stride + p);
    }
    out[0] = v8_sum(a0); out[1] = v8_sum(a1); out[2] = v8_sum(a2); out[3] = v8_sum(a3); out[4] = v8_sum(a4);
}

static int sub_has_params(int sub) { return sub == SUB_SUM || sub == SUB_AVERAGE; }

static void make_layout(const Net *n, Layout *L) {
    int o = 0;
    L->w1 = o; o += 150;
    L->b1 = o; o += 6;
    L->c2 = L->b2 = -1;
    if (sub_has_params(n->sub)) { L->c2 = o; o += 6; L->b2 = o; o += 6; }
    L->w3 = o; o += n->n_c3 * 25;
    L->b3 = o; o += 16;
    L->c4 = L->b4 = -1;
    if (sub_has_params(n->sub)) { L->c4 = o; o += 16; L->b4 = o; o += 16; }
    L->w5 = o; o += 120 * 400;
    L->b5 = o; o += 120;
    L->w6 = o; o += n->n6 * 120;
    L->b6 = o; o += n->n6;
    L->out_w = L->out_b = -1;
    if (n->output == OUT_LINEAR) { L->out_w = o; o += 10 * n->n6; L->out_b = o; o += 10; }
    else if (n->rbf_trainable) { L->out_w = o; o += 10 * n->n6; }
    L->total = o;
    int c = 0;
    for (int m = 0; m < 16; m++) {
        L->c3_start[m] = c;
        while (c < n->n_c3 && n->c3_out[c] == m) c++;
    }
    L->c3_start[16] = c;
    for (int i = 0; i < 6; i++) L->in_count[i] = 0;
    for (int k = 0; k < n->n_c3; k++) {
        const int i = n->c3_in[k];
        L->in_conn[i][L->in_count[i]++] = k;
    }
}

/* ---------------------------------------------------------------- work buffers ---------- */

/* Everything the backward pass reads. Floats first (squared wholesale for the h_kk pass),
 * then the integer argmax tables of max pooling (copied, never squared). */
typedef struct {
    float col1[25 * 784]; /* im2col of the 32x32 input: [k][p], p = 28*r + c */
    float fp1[6 * 784];
    float s2[6 * 196];    /* window sums (or means) of S2 */
    float fp2[6 * 196];
    float col3[6 * 25 * P3]; /* im2col of S2 maps: [i][k][p] */
    float fp3[16 * P3];
    float s4[400];
    float fp4[400];
    float x4[400];
    float x5[120], fp5[120];
    float fp6[84];
    /* ---- not squared from here on */
    float x6[84];
    float out[10];
    int32_t arg2[6 * 196];
    int32_t arg4[400];
} Work;
#define WORK_SQUARED_FLOATS (offsetof(Work, x6) / sizeof(float))

typedef struct {
    float x1[6 * 784];
    float x2[6 * 196];
    float x3[16 * P3];
} Scratch;

typedef struct {
    float dx6[84], d6[84], dx5[120], d5[120], dx4[400], d4[400];
    float dx3[16 * P3], d3[16 * P3], dx2[6 * 196], d2[6 * 196], dx1[6 * 784], d1[6 * 784];
    float g3[MAXC3 * 25], g1[150];
} Grad;

/* ---------------------------------------------------------------- exp and log ---------- */
/* libm's expf/logf are picked at run time by CPU features (glibc ifuncs), so their last bit may
 * depend on the machine. These use only +, -, *, / in double precision (IEEE, hence the same
 * everywhere), then round to float: relative error below 1e-12 before rounding. */

static inline double pow2i(int k) { /* 2^k for -1022 <= k <= 1023 */
    union { uint64_t u; double d; } v = {(uint64_t)(k + 1023) << 52};
    return v.d;
}

static float exp_det(float xf) {
    const double x = xf;
    if (x != x) return xf; /* NaN (a diverged run) stays NaN */
    if (x < -745.0) return 0.0f;
    if (x > 709.0) return (float)(pow2i(1023) * 2.0);
    const double kd = x * 1.4426950408889634 + (x >= 0 ? 0.5 : -0.5);
    const int k = (int)kd; /* truncation toward zero of x/ln2 +- 1/2: the nearest integer */
    const double r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10; /* |r| <= 0.347 */
    double p = 1.0 / 479001600.0; /* Taylor to r^12 / 12! */
    static const double c[12] = {1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                                 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
    for (int i = 0; i < 12; i++) p = p * r + c[i];
    if (k < -1022) return (float)(p * pow2i(k + 200) * pow2i(-200));
    return (float)(p * pow2i(k));
}

static float log_det(float xf) { /* xf >= 1 here (the sums it is used on include e^0) */
    if (!(xf > 0.0f) || xf - xf != 0.0f) return xf > 0.0f ? xf : __builtin_nanf(""); /* inf, NaN, <= 0 */
    union { double d; uint64_t u; } v = {(double)xf};
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL; /* mantissa in [1, 2) */
    double f = v.d;
    if (f > 1.4142135623730951) { f *= 0.5; e += 1; }
    const double s = (f - 1.0) / (f + 1.0), s2 = s * s; /* |s| <= 0.1716 */
    double p = 1.0 / 23.0; /* log f = 2 atanh s = 2 (s + s^3/3 + ... + s^23/23) */
    for (int i = 21; i >= 1; i -= 2) p = p * s2 + 1.0 / i;
    return (float)(e * 0.6931471805599453 + 2.0 * s * p);
}

float lenet5_exp(float x) { return exp_det(x); } /* for the tests */
float lenet5_log(float x) { return log_det(x); }

/* ---------------------------------------------------------------- squashing ------------- */

/* tanh as a rational function (the 13/6 minimax form used by Eigen): a few ulp, vectorizes. */
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

/* In place: a -> f(a); fp <- f'(a). */
static void squash(int act, float *restrict a, float *restrict fp, int n) {
    if (act == ACT_SCALED_TANH) {
        for (int i = 0; i < n; i++) {
            const float t = tanh_r(S * a[i]);
            a[i] = A * t;
            fp[i] = A * S * (1.0f - t * t);
        }
    } else if (act == ACT_SIGMOID) {
        for (int i = 0; i < n; i++) {
            const float s = 0.5f + 0.5f * tanh_r(0.5f * a[i]);
            a[i] = s;
            fp[i] = s * (1.0f - s);
        }
    } else {
        for (int i = 0; i < n; i++) {
            const float v = a[i];
            a[i] = v > 0.0f ? v : 0.0f;
            fp[i] = v > 0.0f ? 1.0f : 0.0f;
        }
    }
}

/* ---------------------------------------------------------------- forward --------------- */

/* S2/S4: 2x2 windows of `maps` maps of size hw x hw (row stride `stride`), output (hw/2)^2 per map,
 * written densely. For SUB_SUM/SUB_AVERAGE: a = coef * s + bias, squashed. For pooling: no params,
 * no squashing. */
static void subsample(const Net *n, const float *coef, const float *bias, const float *x, int maps, int hw,
                      int stride, float *s, float *out, float *fp, int32_t *arg) {
    const int h2 = hw / 2, m2 = h2 * h2;
    for (int m = 0; m < maps; m++) {
        const float *xm = x + m * stride;
        for (int i = 0; i < h2; i++)
            for (int j = 0; j < h2; j++) {
                const int t = (2 * i) * hw + 2 * j;
                const float v0 = xm[t], v1 = xm[t + 1], v2 = xm[t + hw], v3 = xm[t + hw + 1];
                const int u = m * m2 + i * h2 + j;
                if (n->sub == SUB_MAXPOOL) {
                    int best = t; float bv = v0;
                    if (v1 > bv) { bv = v1; best = t + 1; }
                    if (v2 > bv) { bv = v2; best = t + hw; }
                    if (v3 > bv) { bv = v3; best = t + hw + 1; }
                    out[u] = bv; s[u] = bv; fp[u] = 1.0f; arg[u] = m * stride + best;
                } else {
                    float sum = (v0 + v1) + (v2 + v3);
                    if (n->sub != SUB_SUM) sum *= 0.25f;
                    s[u] = sum;
                    if (n->sub == SUB_AVGPOOL) { out[u] = sum; fp[u] = 1.0f; }
                    else out[u] = coef[m] * sum + bias[m];
                    arg[u] = 0;
                }
            }
    }
    if (sub_has_params(n->sub)) squash(n->act, out, fp, maps * m2);
}

static void forward(const Net *n, const Layout *L, const float *P, const float *centers, const float *img,
                    Work *w, Scratch *sc) {
    /* C1: 6 maps 28x28, 5x5 kernels on the 32x32 input. */
    for (int ki = 0; ki < 5; ki++)
        for (int kj = 0; kj < 5; kj++) {
            float *c = w->col1 + (ki * 5 + kj) * 784;
            for (int r = 0; r < 28; r++) memcpy(c + r * 28, img + (r + ki) * 32 + kj, 28 * sizeof(float));
        }
    const float *W1 = P + L->w1, *b1 = P + L->b1;
    for (int p0 = 0; p0 < 784; p0 += 8) { /* 6 maps x 8 outputs held in registers */
        v8 a0 = v8_set(b1[0]), a1 = v8_set(b1[1]), a2 = v8_set(b1[2]), a3 = v8_set(b1[3]),
           a4 = v8_set(b1[4]), a5 = v8_set(b1[5]);
        for (int k = 0; k < 25; k++) {
            const v8 c = v8_load(w->col1 + k * 784 + p0);
            a0 += W1[k] * c; a1 += W1[25 + k] * c; a2 += W1[50 + k] * c;
            a3 += W1[75 + k] * c; a4 += W1[100 + k] * c; a5 += W1[125 + k] * c;
        }
        float *x = sc->x1 + p0;
        v8_store(x, a0); v8_store(x + 784, a1); v8_store(x + 2 * 784, a2);
        v8_store(x + 3 * 784, a3); v8_store(x + 4 * 784, a4); v8_store(x + 5 * 784, a5);
    }
    squash(n->act, sc->x1, w->fp1, 6 * 784);

    /* S2: 6 maps 14x14. */
    subsample(n, L->c2 >= 0 ? P + L->c2 : NULL, L->b2 >= 0 ? P + L->b2 : NULL, sc->x1, 6, 28, 784, w->s2,
              sc->x2, w->fp2, w->arg2);

    /* C3: 16 maps 10x10 through the connection table. im2col per S2 map, rows padded to P3. */
    for (int i = 0; i < 6; i++)
        for (int ki = 0; ki < 5; ki++)
            for (int kj = 0; kj < 5; kj++) {
                float *c = w->col3 + (i * 25 + ki * 5 + kj) * P3;
                const float *x = sc->x2 + i * 196 + ki * 14 + kj;
                for (int r = 0; r < 10; r++)
                    for (int q = 0; q < 10; q++) c[r * 10 + q] = x[r * 14 + q];
                for (int p = 100; p < P3; p++) c[p] = 0.0f;
            }
    const float *W3 = P + L->w3, *b3 = P + L->b3;
    for (int o = 0; o < 16; o++) {
        float acc[P3];
        for (int p = 0; p < P3; p++) acc[p] = b3[o];
        for (int c = L->c3_start[o]; c < L->c3_start[o + 1]; c++) {
            const float *col = w->col3 + n->c3_in[c] * 25 * P3;
            const float *wc = W3 + c * 25;
            for (int k = 0; k < 25; k++) {
                const float wk = wc[k];
                const float *ck = col + k * P3;
                for (int p = 0; p < P3; p++) acc[p] += wk * ck[p];
            }
        }
        memcpy(sc->x3 + o * P3, acc, sizeof(acc));
    }
    squash(n->act, sc->x3, w->fp3, 16 * P3);

    /* S4: 16 maps 5x5 -> the 400-vector x4. Reads C3 maps with row stride P3. */
    subsample(n, L->c4 >= 0 ? P + L->c4 : NULL, L->b4 >= 0 ? P + L->b4 : NULL, sc->x3, 16, 10, P3, w->s4,
              w->x4, w->fp4, w->arg4);

    /* C5: 120 units reading all of S4 (5x5 kernels on 5x5 maps = a full connection). */
    const float *W5 = P + L->w5, *b5 = P + L->b5;
    for (int o = 0; o < 120; o++) {
        float acc[8] = {0};
        const float *wo = W5 + o * 400;
        for (int j = 0; j < 400; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += wo[j + l] * w->x4[j + l];
        w->x5[o] = b5[o] + (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
    squash(n->act, w->x5, w->fp5, 120);

    /* F6: n6 units (84). */
    const int n6 = n->n6;
    const float *W6 = P + L->w6, *b6 = P + L->b6;
    for (int k = 0; k < n6; k++) {
        float acc[8] = {0};
        const float *wk = W6 + k * 120;
        for (int j = 0; j < 120; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += wk[j + l] * w->x5[j + l];
        w->x6[k] = b6[k] + (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
    squash(n->act, w->x6, w->fp6, n6);

    /* Output: Euclidean RBF penalties y_i = sum_k (x_k - w_ik)^2, or linear logits. */
    if (n->output == OUT_RBF) {
        for (int i = 0; i < 10; i++) {
            float acc = 0.0f;
            for (int k = 0; k < n6; k++) {
                const float d = w->x6[k] - centers[i * n6 + k];
                acc += d * d;
            }
            w->out[i] = acc;
        }
    } else {
        const float *Wo = P + L->out_w, *bo = P + L->out_b;
        for (int i = 0; i < 10; i++) {
            float acc = bo[i];
            for (int k = 0; k < n6; k++) acc += Wo[i * n6 + k] * w->x6[k];
            w->out[i] = acc;
        }
    }
}

static int predict(const Net *n, const float *out) {
    int best = 0;
    for (int i = 1; i < 10; i++)
        if (n->output == OUT_RBF ? out[i] < out[best] : out[i] > out[best]) best = i;
    return best;
}

/* ---------------------------------------------------------------- loss ------------------ */

/* Loss of one pattern and dE/d(out) into g[10]. MAP (Eq. 9): y_D + log(e^-j + sum_i e^-y_i);
 * MLE (Eq. 8): y_D; CE: -log softmax(z)_D. */
static float loss_grad(const Net *n, const float *out, int label, float *g) {
    if (n->loss == LOSS_LUSH) { /* Lush's edist-cost: E = 1/2 sum_k (x_k - t_Dk)^2 = y_D / 2 */
        for (int i = 0; i < 10; i++) g[i] = 0.0f;
        g[label] = 0.5f;
        return 0.5f * out[label];
    }
    if (n->loss == LOSS_MLE) {
        for (int i = 0; i < 10; i++) g[i] = 0.0f;
        g[label] = 1.0f;
        return out[label];
    }
    if (n->loss == LOSS_MAP) {
        /* log(e^-j + sum e^-y) = -m + log(e^-(j-m) + sum e^-(y-m)), m = min(j, min y) */
        float m = n->map_j;
        for (int i = 0; i < 10; i++) m = out[i] < m ? out[i] : m;
        float e[10], z = exp_det(-(n->map_j - m));
        for (int i = 0; i < 10; i++) { e[i] = exp_det(-(out[i] - m)); z += e[i]; }
        for (int i = 0; i < 10; i++) g[i] = -e[i] / z;
        g[label] += 1.0f;
        return out[label] - m + log_det(z);
    }
    /* cross-entropy on logits */
    float m = out[0];
    for (int i = 1; i < 10; i++) m = out[i] > m ? out[i] : m;
    float e[10], z = 0.0f;
    for (int i = 0; i < 10; i++) { e[i] = exp_det(out[i] - m); z += e[i]; }
    for (int i = 0; i < 10; i++) g[i] = e[i] / z;
    g[label] -= 1.0f;
    return m + log_det(z) - out[label];
}

/* ---------------------------------------------------------------- backward -------------- */

/* T <- T - E*v (UPDATE) or T <- T + v (ACCUM) */
#define APPLY(mode, T, E, idx, v) do { if ((mode) == MODE_UPDATE) (T)[idx] -= (E)[idx] * (v); else (T)[idx] += (v); } while (0)

/* Backward from dE/dx6 (in g->dx6) down to C1. `W` supplies the weights used to propagate
 * (the parameters, or their squares); `w` the layer inputs and f' (or their squares); results go
 * into T (see APPLY). `pool_scale` is d(mean)/d(input) = 0.25 (or its square). In UPDATE mode T
 * may equal W: every weight is read for propagation before it is written. */
static inline __attribute__((always_inline)) void backward_impl(
        const Net *n, const Layout *L, const float *W, float *T, const float *E, const Work *w, Grad *g,
        const int mode, const float pool_scale) {
    /* F6 */
    for (int k = 0; k < n->n6; k++) g->d6[k] = g->dx6[k] * w->fp6[k];
    for (int j = 0; j < 120; j++) g->dx5[j] = 0.0f;
    for (int k = 0; k < n->n6; k++) {
        const float d = g->d6[k];
        const float *wk = W + L->w6 + k * 120;
        float *tk = T + L->w6 + k * 120;
        const float *ek = E + L->w6 + k * 120;
        for (int j = 0; j < 120; j++) {
            g->dx5[j] += wk[j] * d;
            const float v = d * w->x5[j];
            if (mode == MODE_UPDATE) tk[j] -= ek[j] * v; else tk[j] += v;
        }
        APPLY(mode, T, E, L->b6 + k, d);
    }
    /* C5 */
    for (int o = 0; o < 120; o++) g->d5[o] = g->dx5[o] * w->fp5[o];
    for (int j = 0; j < 400; j++) g->dx4[j] = 0.0f;
    for (int o = 0; o < 120; o++) {
        const float d = g->d5[o];
        const float *wo = W + L->w5 + o * 400;
        float *to = T + L->w5 + o * 400;
        const float *eo = E + L->w5 + o * 400;
        for (int j = 0; j < 400; j++) {
            g->dx4[j] += wo[j] * d;
            const float v = d * w->x4[j];
            if (mode == MODE_UPDATE) to[j] -= eo[j] * v; else to[j] += v;
        }
        APPLY(mode, T, E, L->b5 + o, d);
    }
    /* S4 -> dx3 (C3 maps, row stride P3) */
    for (int i = 0; i < 16 * P3; i++) g->dx3[i] = 0.0f;
    if (n->sub == SUB_MAXPOOL) {
        for (int u = 0; u < 400; u++) g->dx3[w->arg4[u]] += g->dx4[u];
    } else {
        const int params = sub_has_params(n->sub);
        for (int m = 0; m < 16; m++) {
            float gc = 0.0f, gb = 0.0f;
            const float cm = params ? W[L->c4 + m] : 1.0f; /* coefficient (or its square) */
            const float scale = (n->sub == SUB_SUM ? 1.0f : pool_scale) * cm;
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++) {
                    const int u = m * 25 + i * 5 + j;
                    const float d = g->dx4[u] * w->fp4[u];
                    gc += d * w->s4[u];
                    gb += d;
                    const float v = scale * d;
                    float *t = g->dx3 + m * P3 + (2 * i) * 10 + 2 * j;
                    t[0] += v; t[1] += v; t[10] += v; t[11] += v;
                }
            if (params) { APPLY(mode, T, E, L->c4 + m, gc); APPLY(mode, T, E, L->b4 + m, gb); }
        }
    }
    /* C3 */
    for (int i = 0; i < 16 * P3; i++) g->d3[i] = g->dx3[i] * w->fp3[i]; /* padding stays 0: dx3 is 0 there */
    /* dE/dx2 first (it needs the weights before their update): for each S2 map i and kernel tap k,
     * the column gradient sum_c w[c][k] d3[o_c] over the connections reading i, then col2im */
    for (int i = 0; i < 6 * 196; i++) g->dx2[i] = 0.0f;
    for (int i = 0; i < 6; i++) {
        float *dx = g->dx2 + i * 196;
        for (int k = 0; k < 25; k++) {
            v8 acc[P3 / 8];
            for (int v = 0; v < P3 / 8; v++) acc[v] = v8_set(0);
            for (int t = 0; t < L->in_count[i]; t++) {
                const int c = L->in_conn[i][t];
                const v8 wk = v8_set(W[L->w3 + c * 25 + k]);
                const float *d = g->d3 + n->c3_out[c] * P3;
                for (int v = 0; v < P3 / 8; v++) acc[v] += wk * v8_load(d + 8 * v);
            }
            float col[P3];
            for (int v = 0; v < P3 / 8; v++) v8_store(col + 8 * v, acc[v]);
            const int ki = k / 5, kj = k % 5;
            for (int r = 0; r < 10; r++) {
                float *row = dx + (r + ki) * 14 + kj;
                const float *cr = col + r * 10;
                for (int q = 0; q < 10; q++) row[q] += cr[q];
            }
        }
    }
    /* weight gradients: <d3[o], col3[i][k]>, 5 taps at a time */
    for (int o = 0; o < 16; o++) {
        const float *d = g->d3 + o * P3;
        float gb = 0.0f;
        for (int p = 0; p < 100; p++) gb += d[p];
        for (int c = L->c3_start[o]; c < L->c3_start[o + 1]; c++) {
            const float *col = w->col3 + n->c3_in[c] * 25 * P3;
            for (int k = 0; k < 25; k += 5) dot5(d, col + k * P3, P3, P3, g->g3 + c * 25 + k);
        }
        for (int c = L->c3_start[o]; c < L->c3_start[o + 1]; c++)
            for (int k = 0; k < 25; k++) APPLY(mode, T, E, L->w3 + c * 25 + k, g->g3[c * 25 + k]);
        APPLY(mode, T, E, L->b3 + o, gb);
    }
    /* S2 -> dx1 */
    for (int i = 0; i < 6 * 784; i++) g->dx1[i] = 0.0f;
    if (n->sub == SUB_MAXPOOL) {
        for (int u = 0; u < 6 * 196; u++) g->dx1[w->arg2[u]] += g->dx2[u];
    } else {
        const int params = sub_has_params(n->sub);
        for (int m = 0; m < 6; m++) {
            float gc = 0.0f, gb = 0.0f;
            const float cm = params ? W[L->c2 + m] : 1.0f;
            const float scale = (n->sub == SUB_SUM ? 1.0f : pool_scale) * cm;
            for (int i = 0; i < 14; i++)
                for (int j = 0; j < 14; j++) {
                    const int u = m * 196 + i * 14 + j;
                    const float d = g->dx2[u] * w->fp2[u];
                    gc += d * w->s2[u];
                    gb += d;
                    const float v = scale * d;
                    float *t = g->dx1 + m * 784 + (2 * i) * 28 + 2 * j;
                    t[0] += v; t[1] += v; t[28] += v; t[29] += v;
                }
            if (params) { APPLY(mode, T, E, L->c2 + m, gc); APPLY(mode, T, E, L->b2 + m, gb); }
        }
    }
    /* C1 */
    for (int i = 0; i < 6 * 784; i++) g->d1[i] = g->dx1[i] * w->fp1[i];
    for (int m = 0; m < 6; m++) {
        const float *d = g->d1 + m * 784;
        float gb = 0.0f;
        for (int p = 0; p < 784; p++) gb += d[p];
        for (int k = 0; k < 25; k += 5) dot5(d, w->col1 + k * 784, 784, 784, g->g1 + m * 25 + k);
        for (int k = 0; k < 25; k++) APPLY(mode, T, E, L->w1 + m * 25 + k, g->g1[m * 25 + k]);
        APPLY(mode, T, E, L->b1 + m, gb);
    }
}

static void backward_update(const Net *n, const Layout *L, float *P, const float *E, const Work *w, Grad *g) {
    backward_impl(n, L, P, P, E, w, g, MODE_UPDATE, 0.25f);
}
static void backward_accum(const Net *n, const Layout *L, const float *W, float *T, const Work *w, Grad *g,
                           float pool_scale) {
    backward_impl(n, L, W, T, NULL, w, g, MODE_ACCUM, pool_scale);
}

/* dE/dx6 from dE/d(out) = go; output-layer parameter gradients go to T via mode. */
static void output_backward(const Net *n, const Layout *L, const float *P, const float *centers, float *T,
                            const float *E, int mode, const Work *w, const float *go, Grad *g) {
    const int n6 = n->n6;
    if (n->output == OUT_RBF) {
        for (int k = 0; k < n6; k++) {
            float acc = 0.0f;
            for (int i = 0; i < 10; i++) acc += go[i] * 2.0f * (w->x6[k] - centers[i * n6 + k]);
            g->dx6[k] = acc;
        }
        if (n->rbf_trainable)
            for (int i = 0; i < 10; i++)
                for (int k = 0; k < n6; k++)
                    APPLY(mode, T, E, L->out_w + i * n6 + k, -go[i] * 2.0f * (w->x6[k] - centers[i * n6 + k]));
    } else {
        const float *Wo = P + L->out_w;
        for (int k = 0; k < n6; k++) {
            float acc = 0.0f;
            for (int i = 0; i < 10; i++) acc += go[i] * Wo[i * n6 + k];
            g->dx6[k] = acc;
        }
        for (int i = 0; i < 10; i++) {
            for (int k = 0; k < n6; k++) APPLY(mode, T, E, L->out_w + i * n6 + k, go[i] * w->x6[k]);
            APPLY(mode, T, E, L->out_b + i, go[i]);
        }
    }
}

/* ---------------------------------------------------------------- public API ------------ */

typedef struct { Work w; Scratch s; Grad g; Work sq; } Ctx;

static Ctx *ctx_new(void) {
    Ctx *c = NULL;
    if (posix_memalign((void **)&c, 64, sizeof(Ctx)) != 0) return NULL;
    memset(c, 0, sizeof(Ctx));
    return c;
}

int lenet5_param_count(const Net *n) { Layout L; make_layout(n, &L); return L.total; }

void lenet5_layout(const Net *n, int32_t *out15) {
    Layout L; make_layout(n, &L);
    const int v[15] = {L.w1, L.b1, L.c2, L.b2, L.w3, L.b3, L.c4, L.b4, L.w5, L.b5, L.w6, L.b6, L.out_w, L.out_b, L.total};
    for (int i = 0; i < 15; i++) out15[i] = v[i];
}

int lenet5_sizeof_net(void) { return (int)sizeof(Net); }
int lenet5_numerics(void) { return LENET5_NUMERICS; }

/* Forward n images: out[n][10] = RBF penalties (or logits). */
int lenet5_forward_batch(const Net *n, const float *P, const float *centers, const float *imgs, int64_t count,
                         float *out) {
    Layout L; make_layout(n, &L);
    Ctx *c = ctx_new();
    if (!c) return -1;
    for (int64_t s = 0; s < count; s++) {
        forward(n, &L, P, centers, imgs + s * 1024, &c->w, &c->s);
        memcpy(out + s * 10, c->w.out, 10 * sizeof(float));
    }
    free(c);
    return 0;
}

typedef struct { const Net *n; const float *P, *centers, *imgs; float *out; int64_t begin, end; int rc; } FwdJob;

static void *fwd_worker(void *arg) {
    FwdJob *j = arg;
    j->rc = lenet5_forward_batch(j->n, j->P, j->centers, j->imgs + j->begin * 1024, j->end - j->begin,
                                 j->out + j->begin * 10);
    return NULL;
}

/* The same forward, split over `nthreads` threads (evaluation of whole test/training sets). */
int lenet5_forward_batch_mt(const Net *n, const float *P, const float *centers, const float *imgs, int64_t count,
                            float *out, int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    if (nthreads > count) nthreads = count > 0 ? (int)count : 1;
    FwdJob jobs[64];
    pthread_t th[64];
    int started[64] = {0};
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (FwdJob){n, P, centers, imgs, out, count * t / nthreads, count * (t + 1) / nthreads, 0};
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

/* Loss and full gradient of one pattern (grad zeroed here). */
float lenet5_gradient(const Net *n, const float *P, const float *centers, const float *img, int64_t label,
                      float *grad) {
    Layout L; make_layout(n, &L);
    Ctx *c = ctx_new();
    if (!c) return __builtin_nanf("");
    memset(grad, 0, sizeof(float) * L.total);
    forward(n, &L, P, centers, img, &c->w, &c->s);
    float go[10];
    const float loss = loss_grad(n, c->w.out, (int)label, go);
    output_backward(n, &L, P, centers, grad, NULL, MODE_ACCUM, &c->w, go, &c->g);
    backward_accum(n, &L, P, grad, &c->w, &c->g, 0.25f);
    free(c);
    return loss;
}

/* sum of squares over each 2x2 window (x 1/16 when averaging) */
static void window_sq(const float *x, int maps, int hw, int stride, int average, float *out) {
    const int h2 = hw / 2;
    for (int m = 0; m < maps; m++)
        for (int i = 0; i < h2; i++)
            for (int j = 0; j < h2; j++) {
                const float *t = x + m * stride + (2 * i) * hw + 2 * j;
                const float v = (t[0] * t[0] + t[1] * t[1]) + (t[hw] * t[hw] + t[hw + 1] * t[hw + 1]);
                out[m * h2 * h2 + i * h2 + j] = average ? v * 0.0625f : v;
            }
}

/* h_kk: the mean over `count` patterns of the Gauss-Newton diagonal (Appendix C), weights fixed. */
int lenet5_hkk(const Net *n, const float *P, const float *centers, const float *imgs, const int64_t *labels,
               const int64_t *idx, int64_t count, float *h) {
    Layout L; make_layout(n, &L);
    Ctx *c = ctx_new();
    float *Wsq = malloc(sizeof(float) * L.total);
    float *tmp = calloc(L.total, sizeof(float)); /* the sum over patterns, accumulated in place */
    if (!c || !Wsq || !tmp) { free(c); free(Wsq); free(tmp); return -1; }
    for (int i = 0; i < L.total; i++) Wsq[i] = P[i] * P[i];
    for (int64_t s = 0; s < count; s++) {
        const int64_t t = idx ? idx[s] : s;
        forward(n, &L, P, centers, imgs + t * 1024, &c->w, &c->s);
        /* squared inputs and squared f' for the second-derivative backward */
        const float *src = (const float *)&c->w;
        float *dst = (float *)&c->sq;
        for (size_t i = 0; i < WORK_SQUARED_FLOATS; i++) dst[i] = src[i] * src[i];
        memcpy(c->sq.x6, c->w.x6, sizeof(Work) - offsetof(Work, x6));
        /* A subsampling coefficient is shared by the 4 connections of each unit: its curvature
         * sums x_j^2 over them (Eq. 27; sub_curv = CURV_SQUARES) -- or, as Lush's s-layer bbprop
         * does, takes the square of their sum (CURV_SQUARE_OF_SUM); averaging units scale by (1/4)^2. */
        if (sub_has_params(n->sub) && n->sub_curv == CURV_SQUARES) { /* else (sum x_j)^2: s2 squared above */
            window_sq(c->s.x1, 6, 28, 784, n->sub == SUB_AVERAGE, c->sq.s2);
            window_sq(c->s.x3, 16, 10, P3, n->sub == SUB_AVERAGE, c->sq.s4);
        }
        const int label = (int)labels[t];
        if (n->output == OUT_RBF) {
            /* d2E/dx_k^2 at F6 = out_curv (the y_D term's Gauss-Newton curvature) */
            for (int k = 0; k < n->n6; k++) c->g.dx6[k] = n->out_curv;
            if (n->rbf_trainable)
                for (int k = 0; k < n->n6; k++) tmp[L.out_w + label * n->n6 + k] += n->out_curv;
        } else {
            /* softmax cross-entropy: Gauss-Newton diagonal p_i (1 - p_i) on the logits */
            float go[10], pq[10];
            loss_grad(n, c->w.out, label, go);
            go[label] += 1.0f; /* go = softmax probabilities */
            for (int i = 0; i < 10; i++) pq[i] = go[i] * (1.0f - go[i]);
            for (int k = 0; k < n->n6; k++) {
                float a = 0.0f;
                for (int i = 0; i < 10; i++) a += Wsq[L.out_w + i * n->n6 + k] * pq[i];
                c->g.dx6[k] = a;
            }
            for (int i = 0; i < 10; i++) {
                for (int k = 0; k < n->n6; k++) tmp[L.out_w + i * n->n6 + k] += pq[i] * c->w.x6[k] * c->w.x6[k];
                tmp[L.out_b + i] += pq[i];
            }
        }
        backward_accum(n, &L, Wsq, tmp, &c->sq, &c->g, 0.0625f);
    }
    for (int i = 0; i < L.total; i++) h[i] = tmp[i] / (float)count;
    free(c); free(Wsq); free(tmp);
    return 0;
}

/* One pass of online SDLM steps over patterns order[0..count-1]: P -= E * grad(E^p) after each. */
int lenet5_train_pass(const Net *n, float *P, const float *E, const float *centers, const float *imgs,
                      const int64_t *labels, const int64_t *order, int64_t count, double *loss_sum,
                      int64_t *errors) {
    Layout L; make_layout(n, &L);
    Ctx *c = ctx_new();
    if (!c) return -1;
    double ls = 0.0;
    int64_t err = 0;
    for (int64_t s = 0; s < count; s++) {
        const int64_t t = order ? order[s] : s;
        const int label = (int)labels[t];
        forward(n, &L, P, centers, imgs + t * 1024, &c->w, &c->s);
        err += predict(n, c->w.out) != label;
        float go[10];
        ls += loss_grad(n, c->w.out, label, go);
        output_backward(n, &L, P, centers, P, E, MODE_UPDATE, &c->w, go, &c->g);
        backward_update(n, &L, P, E, &c->w, &c->g);
    }
    *loss_sum = ls;
    *errors = err;
    free(c);
    return 0;
}

/* ---------------------------------------------------------------- distortions ----------- */
/* The affine warp of lenet1998/distortions.py (Sec. III-C), the same float64 operations in the
 * same order as its torch code, so the two give the same bits (tests/test_determinism.py).
 * params[k] = (tx, ty, s, q, h); images (m, n, n) in [0, 1]; out (m, n, n). */
static void warp_range(const float *img01, const double *params, int64_t begin, int64_t end, int n, float *out) {
    const double centre = n / 2.0;
    for (int64_t k = begin; k < end; k++) {
        const double *pk = params + 5 * k;
        const double tx = pk[0], ty = pk[1], s = pk[2], q = pk[3], h = pk[4];
        const double sx = s * (1 - q), sy = s * (1 + q);
        const float *im = img01 + k * n * n;
        float *o = out + k * n * n;
        for (int i = 0; i < n; i++) {
            const double y = (((double)i + (0.5 - centre)) - ty) / sy;
            const double row = y + (centre - 0.5);
            const double r0 = __builtin_floor(row), b = row - r0;
            for (int j = 0; j < n; j++) {
                const double x = (((double)j + (0.5 - centre)) - tx) / sx - h * y;
                const double col = x + (centre - 0.5);
                const double c0 = __builtin_floor(col), a = col - c0;
                const double wts[4] = {(1 - a) * (1 - b), a * (1 - b), (1 - a) * b, a * b};
                double acc = 0.0;
                for (int t = 0; t < 4; t++) {
                    const double r = r0 + (t >> 1), c = c0 + (t & 1);
                    const int inside = r >= 0 && r < n && c >= 0 && c < n;
                    acc = acc + (inside ? wts[t] * (double)im[(int)r * n + (int)c] : 0.0);
                }
                o[i * n + j] = (float)acc;
            }
        }
    }
}

typedef struct { const float *img; const double *params; float *out; int64_t begin, end; int n; } WarpJob;

static void *warp_worker(void *arg) {
    WarpJob *j = arg;
    warp_range(j->img, j->params, j->begin, j->end, j->n, j->out);
    return NULL;
}

void lenet5_warp(const float *img01, const double *params, int64_t m, int n, float *out, int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    if (nthreads > m) nthreads = m > 0 ? (int)m : 1;
    WarpJob jobs[64];
    pthread_t th[64];
    int started[64] = {0};
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (WarpJob){img01, params, out, m * t / nthreads, m * (t + 1) / nthreads, n};
        if (t > 0) started[t] = pthread_create(&th[t], NULL, warp_worker, &jobs[t]) == 0;
        if (t > 0 && !started[t]) warp_worker(&jobs[t]);
    }
    warp_worker(&jobs[0]);
    for (int t = 1; t < nthreads; t++)
        if (started[t]) pthread_join(th[t], NULL);
}

/* ---------------------------------------------------------------- lockstep -------------- */
/* K independent runs, each still batch-1 online, spread over threads. Member m runs exactly the
 * single-run code above on its own parameters, rates, data and order, so its trajectory is
 * bit-identical to a solo run. */

typedef struct {
    const Net *nets; float **P; const float **E; const float **centers; const float **imgs;
    const int64_t **labels; const int64_t **order; const int64_t *count;
    double *loss_sum; int64_t *errors; float **h; int kind; int K; int next; int status;
} Job;

static void *worker(void *arg) {
    Job *j = arg;
    for (;;) {
        const int m = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (m >= j->K) break;
        int rc;
        if (j->kind == 0)
            rc = lenet5_train_pass(&j->nets[m], j->P[m], j->E[m], j->centers[m], j->imgs[m], j->labels[m],
                                   j->order[m], j->count[m], &j->loss_sum[m], &j->errors[m]);
        else
            rc = lenet5_hkk(&j->nets[m], j->P[m], j->centers[m], j->imgs[m], j->labels[m], j->order[m],
                            j->count[m], j->h[m]);
        if (rc) __atomic_store_n(&j->status, rc, __ATOMIC_RELAXED);
    }
    return NULL;
}

static int run_job(Job *j, int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > j->K) nthreads = j->K;
    pthread_t th[64];
    if (nthreads > 64) nthreads = 64;
    int started = 0;
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&th[t], NULL, worker, j) == 0) started = t; else break;
    worker(j);
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    return j->status;
}

int lenet5_train_pass_many(int K, const Net *nets, float **P, const float **E, const float **centers,
                           const float **imgs, const int64_t **labels, const int64_t **order,
                           const int64_t *count, double *loss_sum, int64_t *errors, int nthreads) {
    Job j = {nets, P, E, centers, imgs, labels, order, count, loss_sum, errors, NULL, 0, K, 0, 0};
    return run_job(&j, nthreads);
}

int lenet5_hkk_many(int K, const Net *nets, float **P, const float **centers, const float **imgs,
                    const int64_t **labels, const int64_t **idx, const int64_t *count, float **h, int nthreads) {
    Job j = {nets, P, NULL, centers, imgs, labels, idx, count, NULL, NULL, h, 1, K, 0, 0};
    return run_job(&j, nthreads);
}
