/* SIMD and portable C kernels of the native Silero VAD v5 network (ext/vad_silero.pyx).
 *
 * Dense products on packed 16-row weight panels, the LSTM cell, the decoder dot product and the
 * radix-2 real FFT of the STFT, each with an AVX2+FMA path (chosen once at import when the CPU
 * has it, see te_cpu_has_avx2 and te_simd) and a portable C path.  Included by exactly one
 * translation unit (vad_silero.c, through `cdef extern from "silero_simd.h"`), so everything
 * here is `static`.  Determinism rules: see the module docstring of ext/vad_silero.pyx.
 */
#ifndef TURNENGINE_SILERO_SIMD_H
#define TURNENGINE_SILERO_SIMD_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define TE_HAVE_AVX2 1
#include <immintrin.h>
#define TE_TARGET __attribute__((target("avx2,fma")))
#else
#define TE_HAVE_AVX2 0
#endif

#define TE_MR 16   /* rows per packed weight panel */

static int te_simd = 0;   /* 1: AVX2+FMA micro-kernels; 0: portable C */

static int te_cpu_has_avx2(void) {
#if TE_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* 64-byte aligned, zeroed allocation; te_free releases it. */
static void* te_calloc(size_t nbytes) {
    unsigned char* raw = (unsigned char*)calloc(nbytes + 64 + sizeof(void*), 1);
    uintptr_t p;
    if (raw == NULL) return NULL;
    p = ((uintptr_t)(raw + sizeof(void*)) + 63) & ~(uintptr_t)63;
    ((void**)p)[-1] = raw;
    return (void*)p;
}
static void te_free(void* p) {
    if (p != NULL) free(((void**)p)[-1]);
}

/* ---- dense products: y[j][i] = act(b[i] + sum_k W[i][k] x[j][k]), i < M, j < n ----------
   W is packed in panels of TE_MR rows: Wp[p * K * TE_MR + k * TE_MR + r] = W[p*TE_MR + r][k].
   Every element accumulates k = 0..K-1 in order from zero with one FMA (AVX2) or one
   multiply and one add (portable) per term, then adds the bias: the result for a column never
   depends on which other columns share the call. */
static void te_dense_generic(int M, int Kp, int k0, int k1, const float* Wp, const float* b,
                             int n, const float* const* x, float* const* y, int relu) {
    int np = M / TE_MR, j, p, k, r;
    size_t ps = (size_t)Kp * TE_MR;
    for (j = 0; j < n; j++) {
        const float* xj = x[j];
        for (p = 0; p < np; p++) {
            const float* w = Wp + p * ps;
            float acc[TE_MR];
            for (r = 0; r < TE_MR; r++) acc[r] = 0.0f;
            for (k = k0; k < k1; k++) {
                const float v = xj[k];
                const float* wk = w + (size_t)k * TE_MR;
                for (r = 0; r < TE_MR; r++) acc[r] += wk[r] * v;
            }
            for (r = 0; r < TE_MR; r++) {
                float o = acc[r] + b[p * TE_MR + r];
                if (relu && o < 0.0f) o = 0.0f;
                y[j][p * TE_MR + r] = o;
            }
        }
    }
}

#if TE_HAVE_AVX2
/* Register tiles: NP consecutive panels (16 rows each) by NC columns, named accumulators so
   that they stay in registers.  Every term is one FMA w * x + acc in ascending k. */
#define TE_Z _mm256_setzero_ps()
#define TE_ACC(a0, a1, wk, v)                                   \
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wk), v, a0);           \
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps((wk) + 8), v, a1);
TE_TARGET static inline void te_out2(__m256 a0, __m256 a1, float* y, const float* b,
                                     int relu) {
    __m256 r0 = _mm256_add_ps(a0, _mm256_loadu_ps(b));
    __m256 r1 = _mm256_add_ps(a1, _mm256_loadu_ps(b + 8));
    if (relu) {
        r0 = _mm256_max_ps(r0, _mm256_setzero_ps());
        r1 = _mm256_max_ps(r1, _mm256_setzero_ps());
    }
    _mm256_storeu_ps(y, r0);
    _mm256_storeu_ps(y + 8, r1);
}
#define TE_TILE_ARGS int K, const float* w, size_t ps, int xo, const float* const* x, \
                     float* const* y, int r0, const float* b, int relu

TE_TARGET static void te_tile_1x6(TE_TILE_ARGS) {
    __m256 a00 = TE_Z, a01 = TE_Z, a10 = TE_Z, a11 = TE_Z, a20 = TE_Z, a21 = TE_Z;
    __m256 a30 = TE_Z, a31 = TE_Z, a40 = TE_Z, a41 = TE_Z, a50 = TE_Z, a51 = TE_Z;
    const float *x0 = x[0] + xo, *x1 = x[1] + xo, *x2 = x[2] + xo;
    const float *x3 = x[3] + xo, *x4 = x[4] + xo, *x5 = x[5] + xo;
    int k;
    (void)ps;
    for (k = 0; k < K; k++) {
        const float* wk = w + (size_t)k * TE_MR;
        __m256 v;
        v = _mm256_broadcast_ss(x0 + k); TE_ACC(a00, a01, wk, v)
        v = _mm256_broadcast_ss(x1 + k); TE_ACC(a10, a11, wk, v)
        v = _mm256_broadcast_ss(x2 + k); TE_ACC(a20, a21, wk, v)
        v = _mm256_broadcast_ss(x3 + k); TE_ACC(a30, a31, wk, v)
        v = _mm256_broadcast_ss(x4 + k); TE_ACC(a40, a41, wk, v)
        v = _mm256_broadcast_ss(x5 + k); TE_ACC(a50, a51, wk, v)
    }
    te_out2(a00, a01, y[0] + r0, b + r0, relu);
    te_out2(a10, a11, y[1] + r0, b + r0, relu);
    te_out2(a20, a21, y[2] + r0, b + r0, relu);
    te_out2(a30, a31, y[3] + r0, b + r0, relu);
    te_out2(a40, a41, y[4] + r0, b + r0, relu);
    te_out2(a50, a51, y[5] + r0, b + r0, relu);
}
TE_TARGET static void te_tile_1x4(TE_TILE_ARGS) {
    __m256 a00 = TE_Z, a01 = TE_Z, a10 = TE_Z, a11 = TE_Z;
    __m256 a20 = TE_Z, a21 = TE_Z, a30 = TE_Z, a31 = TE_Z;
    const float *x0 = x[0] + xo, *x1 = x[1] + xo, *x2 = x[2] + xo, *x3 = x[3] + xo;
    int k;
    (void)ps;
    for (k = 0; k < K; k++) {
        const float* wk = w + (size_t)k * TE_MR;
        __m256 v;
        v = _mm256_broadcast_ss(x0 + k); TE_ACC(a00, a01, wk, v)
        v = _mm256_broadcast_ss(x1 + k); TE_ACC(a10, a11, wk, v)
        v = _mm256_broadcast_ss(x2 + k); TE_ACC(a20, a21, wk, v)
        v = _mm256_broadcast_ss(x3 + k); TE_ACC(a30, a31, wk, v)
    }
    te_out2(a00, a01, y[0] + r0, b + r0, relu);
    te_out2(a10, a11, y[1] + r0, b + r0, relu);
    te_out2(a20, a21, y[2] + r0, b + r0, relu);
    te_out2(a30, a31, y[3] + r0, b + r0, relu);
}
TE_TARGET static void te_tile_2x2(TE_TILE_ARGS) {
    __m256 a00 = TE_Z, a01 = TE_Z, a10 = TE_Z, a11 = TE_Z;   /* panel 0, columns 0 and 1 */
    __m256 c00 = TE_Z, c01 = TE_Z, c10 = TE_Z, c11 = TE_Z;   /* panel 1 */
    const float *x0 = x[0] + xo, *x1 = x[1] + xo;
    int k;
    for (k = 0; k < K; k++) {
        const float* wk = w + (size_t)k * TE_MR;
        const float* wq = wk + ps;
        __m256 v;
        v = _mm256_broadcast_ss(x0 + k); TE_ACC(a00, a01, wk, v) TE_ACC(c00, c01, wq, v)
        v = _mm256_broadcast_ss(x1 + k); TE_ACC(a10, a11, wk, v) TE_ACC(c10, c11, wq, v)
    }
    te_out2(a00, a01, y[0] + r0, b + r0, relu);
    te_out2(a10, a11, y[1] + r0, b + r0, relu);
    te_out2(c00, c01, y[0] + r0 + TE_MR, b + r0 + TE_MR, relu);
    te_out2(c10, c11, y[1] + r0 + TE_MR, b + r0 + TE_MR, relu);
}
TE_TARGET static void te_tile_4x1(TE_TILE_ARGS) {
    __m256 a00 = TE_Z, a01 = TE_Z, a10 = TE_Z, a11 = TE_Z;   /* panels 0..3, one column */
    __m256 a20 = TE_Z, a21 = TE_Z, a30 = TE_Z, a31 = TE_Z;
    const float* x0 = x[0] + xo;
    int k;
    for (k = 0; k < K; k++) {
        const float* wk = w + (size_t)k * TE_MR;
        const __m256 v = _mm256_broadcast_ss(x0 + k);
        TE_ACC(a00, a01, wk, v)
        TE_ACC(a10, a11, wk + ps, v)
        TE_ACC(a20, a21, wk + 2 * ps, v)
        TE_ACC(a30, a31, wk + 3 * ps, v)
    }
    te_out2(a00, a01, y[0] + r0, b + r0, relu);
    te_out2(a10, a11, y[0] + r0 + TE_MR, b + r0 + TE_MR, relu);
    te_out2(a20, a21, y[0] + r0 + 2 * TE_MR, b + r0 + 2 * TE_MR, relu);
    te_out2(a30, a31, y[0] + r0 + 3 * TE_MR, b + r0 + 3 * TE_MR, relu);
}
TE_TARGET static void te_tile_1x1(TE_TILE_ARGS) {
    __m256 a00 = TE_Z, a01 = TE_Z;
    const float* x0 = x[0] + xo;
    int k;
    (void)ps;
    for (k = 0; k < K; k++) {
        const float* wk = w + (size_t)k * TE_MR;
        const __m256 v = _mm256_broadcast_ss(x0 + k);
        TE_ACC(a00, a01, wk, v)
    }
    te_out2(a00, a01, y[0] + r0, b + r0, relu);
}

TE_TARGET static void te_dense_avx2(int M, int Kp, int k0, int k1, const float* Wp,
                                    const float* b, int n, const float* const* x,
                                    float* const* y, int relu) {
    const int np = M / TE_MR, K = k1 - k0;
    const size_t ps = (size_t)Kp * TE_MR;
    const float* W0 = Wp + (size_t)k0 * TE_MR;
    const int n6 = n - n % 6;
    int p, j, r;
    for (p = 0; p < np; p++)
        for (j = 0; j < n6; j += 6)
            te_tile_1x6(K, W0 + p * ps, ps, k0, x + j, y + j, p * TE_MR, b, relu);
    j = n6;
    r = n - n6;
    if (r >= 4) {
        for (p = 0; p < np; p++)
            te_tile_1x4(K, W0 + p * ps, ps, k0, x + j, y + j, p * TE_MR, b, relu);
        j += 4;
        r -= 4;
    }
    if (r >= 2) {
        for (p = 0; p + 2 <= np; p += 2)
            te_tile_2x2(K, W0 + p * ps, ps, k0, x + j, y + j, p * TE_MR, b, relu);
        for (; p < np; p++) {
            te_tile_1x1(K, W0 + p * ps, ps, k0, x + j, y + j, p * TE_MR, b, relu);
            te_tile_1x1(K, W0 + p * ps, ps, k0, x + j + 1, y + j + 1, p * TE_MR, b, relu);
        }
        j += 2;
        r -= 2;
    }
    if (r == 1) {
        for (p = 0; p + 4 <= np; p += 4)
            te_tile_4x1(K, W0 + p * ps, ps, k0, x + j, y + j, p * TE_MR, b, relu);
        for (; p < np; p++)
            te_tile_1x1(K, W0 + p * ps, ps, k0, x + j, y + j, p * TE_MR, b, relu);
    }
}

/* exp on 8 lanes: Cephes expf (range reduction by ln 2, degree-5 polynomial), ~1 ulp. */
TE_TARGET static inline __m256 te_exp256(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 fx, y, z;
    __m256i e;
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f));
    fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    z = _mm256_mul_ps(x, x);
    y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, z, x);
    y = _mm256_add_ps(y, one);
    e = _mm256_cvttps_epi32(fx);
    e = _mm256_add_epi32(e, _mm256_set1_epi32(127));
    e = _mm256_slli_epi32(e, 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}
TE_TARGET static inline __m256 te_sigmoid256(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 ex = te_exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, ex));
}
TE_TARGET static inline __m256 te_tanh256(__m256 x) {
    /* tanh(x) = 1 - 2 / (1 + exp(2x)) */
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 ex = te_exp256(_mm256_add_ps(x, x));
    return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, ex)));
}
/* LSTM cell (PyTorch gate order i, f, g, o), H a multiple of 8. */
TE_TARGET static void te_lstm_cell_avx2(const float* g, float* c, float* h, int H) {
    int i;
    for (i = 0; i < H; i += 8) {
        const __m256 ig = te_sigmoid256(_mm256_loadu_ps(g + i));
        const __m256 fg = te_sigmoid256(_mm256_loadu_ps(g + H + i));
        const __m256 gg = te_tanh256(_mm256_loadu_ps(g + 2 * H + i));
        const __m256 og = te_sigmoid256(_mm256_loadu_ps(g + 3 * H + i));
        const __m256 cn = _mm256_add_ps(_mm256_mul_ps(fg, _mm256_loadu_ps(c + i)),
                                        _mm256_mul_ps(ig, gg));
        _mm256_storeu_ps(c + i, cn);
        _mm256_storeu_ps(h + i, _mm256_mul_ps(og, te_tanh256(cn)));
    }
}
/* sum_i w[i] * relu(h[i]), H a multiple of 8; lanes summed in a fixed order. */
TE_TARGET static float te_relu_dot_avx2(const float* h, const float* w, int H) {
    __m256 acc = _mm256_setzero_ps();
    float lanes[8], s;
    int i;
    for (i = 0; i < H; i += 8)
        acc = _mm256_fmadd_ps(_mm256_max_ps(_mm256_loadu_ps(h + i), _mm256_setzero_ps()),
                              _mm256_loadu_ps(w + i), acc);
    _mm256_storeu_ps(lanes, acc);
    s = lanes[0];
    for (i = 1; i < 8; i++) s += lanes[i];
    return s;
}
#endif  /* TE_HAVE_AVX2 */

static float te_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static void te_lstm_cell_generic(const float* g, float* c, float* h, int H) {
    int i;
    for (i = 0; i < H; i++) {
        const float ig = te_sigmoidf(g[i]);
        const float fg = te_sigmoidf(g[H + i]);
        const float gg = tanhf(g[2 * H + i]);
        const float og = te_sigmoidf(g[3 * H + i]);
        const float cn = fg * c[i] + ig * gg;
        c[i] = cn;
        h[i] = og * tanhf(cn);
    }
}
static float te_relu_dot_generic(const float* h, const float* w, int H) {
    float s = 0.0f;
    int i;
    for (i = 0; i < H; i++) s += (h[i] > 0.0f ? h[i] : 0.0f) * w[i];
    return s;
}

/* Rows k0..k1-1 of the products (Kp = the panels' depth).  Leaving out rows whose inputs
   are zero padding gives bitwise the same result: acc + w * 0 == acc. */
static void te_dense(int M, int Kp, int k0, int k1, const float* Wp, const float* b, int n,
                     const float* const* x, float* const* y, int relu) {
#if TE_HAVE_AVX2
    if (te_simd) { te_dense_avx2(M, Kp, k0, k1, Wp, b, n, x, y, relu); return; }
#endif
    te_dense_generic(M, Kp, k0, k1, Wp, b, n, x, y, relu);
}
static void te_lstm_cell(const float* g, float* c, float* h, int H) {
#if TE_HAVE_AVX2
    if (te_simd) { te_lstm_cell_avx2(g, c, h, H); return; }
#endif
    te_lstm_cell_generic(g, c, h, H);
}
static float te_relu_dot(const float* h, const float* w, int H) {
#if TE_HAVE_AVX2
    if (te_simd) return te_relu_dot_avx2(h, w, H);
#endif
    return te_relu_dot_generic(h, w, H);
}

/* ---- STFT magnitude of 4 frames at once (one lane per frame) ------------------------------
   Real FFT of nfft = 2m points through an m-point complex radix-2 FFT of
   z[n] = x[2n] + i x[2n+1], windowed by win.  out[t * nbins + k] = |X_t[k]|, k = 0..m. */
typedef struct {
    int nfft, m, hop, nbins;
    float* win;              /* nfft: periodic Hann, as in the model's basis */
    int* rev;                /* m: bit-reversal permutation */
    float* twr; float* twi;  /* m/2: exp(-2 pi i j / m) */
    float* pwr; float* pwi;  /* m+1: exp(-2 pi i k / nfft) */
} te_fft_t;

#if defined(__GNUC__) || defined(__clang__)
typedef float te_v4 __attribute__((vector_size(16)));   /* one lane per frame */
#define TE_V4(x) ((te_v4){(x), (x), (x), (x)})
static inline te_v4 te_sqrt4(te_v4 x) {   /* IEEE sqrt per lane: the same as sqrtf */
#if TE_HAVE_AVX2
    return (te_v4)_mm_sqrt_ps((__m128)x);
#else
    te_v4 r;
    int t;
    for (t = 0; t < 4; t++) r[t] = sqrtf(x[t]);
    return r;
#endif
}
static void te_stft_mag(const te_fft_t* f, const float* P, float* out, float* work) {
    const int m = f->m, hop = f->hop, nb = f->nbins;
    te_v4* re = (te_v4*)work;          /* work: 8 * m floats, 64-byte aligned */
    te_v4* im = re + m;
    int i, j, t, k, len, half, tstep;
    /* Transpose the 4 frames (lane t = frame t), window, and scatter z[n] = x[2n] + i x[2n+1]
       to its bit-reversed position (bit reversal is its own inverse). */
    for (i = 0; i < 2 * m; i += 4) {
        te_v4 c[4];
#if TE_HAVE_AVX2
        __m128 r0 = _mm_loadu_ps(P + i), r1 = _mm_loadu_ps(P + hop + i);
        __m128 r2 = _mm_loadu_ps(P + 2 * hop + i), r3 = _mm_loadu_ps(P + 3 * hop + i);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        c[0] = (te_v4)r0;
        c[1] = (te_v4)r1;
        c[2] = (te_v4)r2;
        c[3] = (te_v4)r3;
#else
        for (t = 0; t < 4; t++)
            for (j = 0; j < 4; j++) c[t][j] = P[j * hop + i + t];
#endif
        re[f->rev[i >> 1]] = c[0] * TE_V4(f->win[i]);
        im[f->rev[i >> 1]] = c[1] * TE_V4(f->win[i + 1]);
        re[f->rev[(i >> 1) + 1]] = c[2] * TE_V4(f->win[i + 2]);
        im[f->rev[(i >> 1) + 1]] = c[3] * TE_V4(f->win[i + 3]);
    }
    /* stages of length 2 and 4: twiddles 1 and -i, no multiplications */
    for (i = 0; i < m; i += 4) {
        const te_v4 r0 = re[i] + re[i + 1], i0 = im[i] + im[i + 1];
        const te_v4 r1 = re[i] - re[i + 1], i1 = im[i] - im[i + 1];
        const te_v4 r2 = re[i + 2] + re[i + 3], i2 = im[i + 2] + im[i + 3];
        const te_v4 r3 = re[i + 2] - re[i + 3], i3 = im[i + 2] - im[i + 3];
        re[i] = r0 + r2;
        im[i] = i0 + i2;
        re[i + 2] = r0 - r2;
        im[i + 2] = i0 - i2;
        /* (r3 + i i3) * (-i) = i3 - i r3 */
        re[i + 1] = r1 + i3;
        im[i + 1] = i1 - r3;
        re[i + 3] = r1 - i3;
        im[i + 3] = i1 + r3;
    }
    for (len = 8, tstep = m / 8; len <= m; len <<= 1, tstep >>= 1) {
        half = len >> 1;
        for (i = 0; i < m; i += len) {        /* j = 0: twiddle 1 */
            const te_v4 ar = re[i], ai = im[i], br = re[i + half], bi = im[i + half];
            re[i] = ar + br;
            im[i] = ai + bi;
            re[i + half] = ar - br;
            im[i + half] = ai - bi;
        }
        for (j = 1; j < half; j++) {
            const te_v4 wr = TE_V4(f->twr[j * tstep]), wi = TE_V4(f->twi[j * tstep]);
            for (i = j; i < m; i += len) {
                const te_v4 br = re[i + half], bi = im[i + half];
                const te_v4 tr = br * wr - bi * wi;
                const te_v4 ti = br * wi + bi * wr;
                const te_v4 ar = re[i], ai = im[i];
                re[i + half] = ar - tr;
                im[i + half] = ai - ti;
                re[i] = ar + tr;
                im[i] = ai + ti;
            }
        }
    }
    {
        const te_v4 h = TE_V4(0.5f);
        const te_v4 x0 = re[0] + im[0], xm = re[0] - im[0];
        te_v4 mag[4];
        /* bins 0 and m are real; bins are stored 4 at a time (k = 0..3, ..., m-4..m-1) */
        for (t = 0; t < 4; t++) {
            mag[0][t] = fabsf(x0[t]);
            out[t * nb + m] = fabsf(xm[t]);
        }
        for (k = 1; k < m; k++) {
            const te_v4 wr = TE_V4(f->pwr[k]), wi = TE_V4(f->pwi[k]);
            const te_v4 zr = re[k], zi = im[k], cr = re[m - k], ci = -im[m - k];
            const te_v4 er = h * (zr + cr), ei = h * (zi + ci);
            const te_v4 orr = h * (zi - ci), oi = -h * (zr - cr);
            const te_v4 xr = er + (orr * wr - oi * wi);
            const te_v4 xi = ei + (orr * wi + oi * wr);
            mag[k & 3] = te_sqrt4(xr * xr + xi * xi);
            if ((k & 3) == 3) {          /* k-3..k: transpose 4 x 4 and store per frame */
#if TE_HAVE_AVX2
                __m128 c0 = (__m128)mag[0], c1 = (__m128)mag[1];
                __m128 c2 = (__m128)mag[2], c3 = (__m128)mag[3];
                _MM_TRANSPOSE4_PS(c0, c1, c2, c3);
                _mm_storeu_ps(out + k - 3, c0);
                _mm_storeu_ps(out + nb + k - 3, c1);
                _mm_storeu_ps(out + 2 * nb + k - 3, c2);
                _mm_storeu_ps(out + 3 * nb + k - 3, c3);
#else
                for (t = 0; t < 4; t++) {
                    out[t * nb + k - 3] = mag[0][t];
                    out[t * nb + k - 2] = mag[1][t];
                    out[t * nb + k - 1] = mag[2][t];
                    out[t * nb + k] = mag[3][t];
                }
#endif
            }
        }
    }
}
#else
static void te_stft_mag(const te_fft_t* f, const float* P, float* out, float* work) {
    const int m = f->m, hop = f->hop, nb = f->nbins;
    float* re = work;
    float* im = work + 4 * m;
    int i, j, t, k, len, half, tstep;
    for (i = 0; i < m; i++) {
        const int s2 = 2 * f->rev[i];
        const float w0 = f->win[s2], w1 = f->win[s2 + 1];
        for (t = 0; t < 4; t++) {
            re[4 * i + t] = P[t * hop + s2] * w0;
            im[4 * i + t] = P[t * hop + s2 + 1] * w1;
        }
    }
    for (len = 2, tstep = m / 2; len <= m; len <<= 1, tstep >>= 1) {
        half = len >> 1;
        for (i = 0; i < m; i += len) {
            for (j = 0; j < half; j++) {
                const float wr = f->twr[j * tstep], wi = f->twi[j * tstep];
                float* ra = re + 4 * (i + j);
                float* ia = im + 4 * (i + j);
                float* rb = re + 4 * (i + j + half);
                float* ib = im + 4 * (i + j + half);
                for (t = 0; t < 4; t++) {
                    const float br = rb[t], bi = ib[t];
                    const float tr = br * wr - bi * wi;
                    const float ti = br * wi + bi * wr;
                    const float ar = ra[t], ai = ia[t];
                    rb[t] = ar - tr;
                    ib[t] = ai - ti;
                    ra[t] = ar + tr;
                    ia[t] = ai + ti;
                }
            }
        }
    }
    for (t = 0; t < 4; t++) {
        out[t * nb] = fabsf(re[t] + im[t]);
        out[t * nb + m] = fabsf(re[t] - im[t]);
    }
    for (k = 1; k < m; k++) {
        const float wr = f->pwr[k], wi = f->pwi[k];
        for (t = 0; t < 4; t++) {
            const float zr = re[4 * k + t], zi = im[4 * k + t];
            const float cr = re[4 * (m - k) + t], ci = -im[4 * (m - k) + t];
            const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
            const float orr = 0.5f * (zi - ci), oi = -0.5f * (zr - cr);
            const float xr = er + (orr * wr - oi * wi);
            const float xi = ei + (orr * wi + oi * wr);
            out[t * nb + k] = sqrtf(xr * xr + xi * xi);
        }
    }
}
#endif

#if TE_HAVE_AVX2
/* The same STFT for two streams at once, 8 lanes = (stream a frames 0..3, stream b frames
   0..3), with AVX and no FMA: the same IEEE operations per lane as every other call of this
   function, so a stream's result does not depend on its partner (a lone stream is paired
   with itself).  work: 16 * m floats. */
typedef float te_v8 __attribute__((vector_size(32)));
#define TE_V8(x) ((te_v8){(x), (x), (x), (x), (x), (x), (x), (x)})
__attribute__((target("avx")))
static void te_stft_mag2(const te_fft_t* f, const float* Pa, const float* Pb, float* outa,
                         float* outb, float* work) {
    const int m = f->m, hop = f->hop, nb = f->nbins;
    te_v8* re = (te_v8*)work;
    te_v8* im = re + m;
    int i, j, t, k, len, half, tstep;
    for (i = 0; i < 2 * m; i += 4) {
        __m128 a0 = _mm_loadu_ps(Pa + i), a1 = _mm_loadu_ps(Pa + hop + i);
        __m128 a2 = _mm_loadu_ps(Pa + 2 * hop + i), a3 = _mm_loadu_ps(Pa + 3 * hop + i);
        __m128 b0 = _mm_loadu_ps(Pb + i), b1 = _mm_loadu_ps(Pb + hop + i);
        __m128 b2 = _mm_loadu_ps(Pb + 2 * hop + i), b3 = _mm_loadu_ps(Pb + 3 * hop + i);
        _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
        _MM_TRANSPOSE4_PS(b0, b1, b2, b3);
        re[f->rev[i >> 1]] = (te_v8)_mm256_set_m128(b0, a0) * TE_V8(f->win[i]);
        im[f->rev[i >> 1]] = (te_v8)_mm256_set_m128(b1, a1) * TE_V8(f->win[i + 1]);
        re[f->rev[(i >> 1) + 1]] = (te_v8)_mm256_set_m128(b2, a2) * TE_V8(f->win[i + 2]);
        im[f->rev[(i >> 1) + 1]] = (te_v8)_mm256_set_m128(b3, a3) * TE_V8(f->win[i + 3]);
    }
    for (i = 0; i < m; i += 4) {
        const te_v8 r0 = re[i] + re[i + 1], i0 = im[i] + im[i + 1];
        const te_v8 r1 = re[i] - re[i + 1], i1 = im[i] - im[i + 1];
        const te_v8 r2 = re[i + 2] + re[i + 3], i2 = im[i + 2] + im[i + 3];
        const te_v8 r3 = re[i + 2] - re[i + 3], i3 = im[i + 2] - im[i + 3];
        re[i] = r0 + r2;
        im[i] = i0 + i2;
        re[i + 2] = r0 - r2;
        im[i + 2] = i0 - i2;
        re[i + 1] = r1 + i3;
        im[i + 1] = i1 - r3;
        re[i + 3] = r1 - i3;
        im[i + 3] = i1 + r3;
    }
    for (len = 8, tstep = m / 8; len <= m; len <<= 1, tstep >>= 1) {
        half = len >> 1;
        for (i = 0; i < m; i += len) {
            const te_v8 ar = re[i], ai = im[i], br = re[i + half], bi = im[i + half];
            re[i] = ar + br;
            im[i] = ai + bi;
            re[i + half] = ar - br;
            im[i + half] = ai - bi;
        }
        for (j = 1; j < half; j++) {
            const te_v8 wr = TE_V8(f->twr[j * tstep]), wi = TE_V8(f->twi[j * tstep]);
            for (i = j; i < m; i += len) {
                const te_v8 br = re[i + half], bi = im[i + half];
                const te_v8 tr = br * wr - bi * wi;
                const te_v8 ti = br * wi + bi * wr;
                const te_v8 ar = re[i], ai = im[i];
                re[i + half] = ar - tr;
                im[i + half] = ai - ti;
                re[i] = ar + tr;
                im[i] = ai + ti;
            }
        }
    }
    {
        const te_v8 h = TE_V8(0.5f);
        const te_v8 x0 = re[0] + im[0], xm = re[0] - im[0];
        te_v8 mag[4];
        for (t = 0; t < 4; t++) {
            mag[0][t] = fabsf(x0[t]);
            mag[0][t + 4] = fabsf(x0[t + 4]);
            outa[t * nb + m] = fabsf(xm[t]);
            outb[t * nb + m] = fabsf(xm[t + 4]);
        }
        for (k = 1; k < m; k++) {
            const te_v8 wr = TE_V8(f->pwr[k]), wi = TE_V8(f->pwi[k]);
            const te_v8 zr = re[k], zi = im[k], cr = re[m - k], ci = -im[m - k];
            const te_v8 er = h * (zr + cr), ei = h * (zi + ci);
            const te_v8 orr = h * (zi - ci), oi = -h * (zr - cr);
            const te_v8 xr = er + (orr * wr - oi * wi);
            const te_v8 xi = ei + (orr * wi + oi * wr);
            mag[k & 3] = (te_v8)_mm256_sqrt_ps((__m256)(xr * xr + xi * xi));
            if ((k & 3) == 3) {
                __m128 c0 = _mm256_castps256_ps128((__m256)mag[0]);
                __m128 c1 = _mm256_castps256_ps128((__m256)mag[1]);
                __m128 c2 = _mm256_castps256_ps128((__m256)mag[2]);
                __m128 c3 = _mm256_castps256_ps128((__m256)mag[3]);
                __m128 d0 = _mm256_extractf128_ps((__m256)mag[0], 1);
                __m128 d1 = _mm256_extractf128_ps((__m256)mag[1], 1);
                __m128 d2 = _mm256_extractf128_ps((__m256)mag[2], 1);
                __m128 d3 = _mm256_extractf128_ps((__m256)mag[3], 1);
                _MM_TRANSPOSE4_PS(c0, c1, c2, c3);
                _MM_TRANSPOSE4_PS(d0, d1, d2, d3);
                _mm_storeu_ps(outa + k - 3, c0);
                _mm_storeu_ps(outa + nb + k - 3, c1);
                _mm_storeu_ps(outa + 2 * nb + k - 3, c2);
                _mm_storeu_ps(outa + 3 * nb + k - 3, c3);
                _mm_storeu_ps(outb + k - 3, d0);
                _mm_storeu_ps(outb + nb + k - 3, d1);
                _mm_storeu_ps(outb + 2 * nb + k - 3, d2);
                _mm_storeu_ps(outb + 3 * nb + k - 3, d3);
            }
        }
    }
}
#endif

/* STFT magnitudes of two streams (a may equal b). */
static void te_stft_pair(const te_fft_t* f, const float* Pa, const float* Pb, float* outa,
                         float* outb, float* work) {
#if TE_HAVE_AVX2
    if (te_simd) { te_stft_mag2(f, Pa, Pb, outa, outb, work); return; }
#endif
    te_stft_mag(f, Pa, outa, work);
    if (Pb != Pa) te_stft_mag(f, Pb, outb, work);
}

static int te_all_finite(const float* x, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

#endif  /* TURNENGINE_SILERO_SIMD_H */
