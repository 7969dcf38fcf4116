/* The 128-point real FFT of the echo canceller (ext/echo.pyx), in numpy's conventions:
 * ef_rfft is numpy.fft.rfft of 128 reals (65 bins, unnormalised), ef_irfft is numpy.fft.irfft
 * (the imaginary parts of bins 0 and 64 are ignored, the result scaled by 1/128).
 *
 * A real FFT of 2L points through one complex FFT of L = 64 points on z[n] = x[2n] + i x[2n+1]
 * (the even/odd split of Cooley and Tukey; e.g. Press et al., Numerical Recipes, 12.3), the
 * complex FFT an iterative radix-2 decimation in time with precomputed twiddles.
 */
#ifndef TURNENGINE_ECHO_FFT_H
#define TURNENGINE_ECHO_FFT_H

#include <math.h>

#define EF_L 64
#define EF_BINS 65

typedef struct {
    double cr[EF_L / 2], ci[EF_L / 2];   /* e^{-2 pi i k / 64} */
    double wr[EF_BINS], wi[EF_BINS];     /* e^{-2 pi i k / 128} */
    int rev[EF_L];
} ef_tables;

static void ef_init(ef_tables *t) {
    const double pi = 3.14159265358979323846;
    for (int k = 0; k < EF_L / 2; k++) {
        t->cr[k] = cos(2.0 * pi * k / EF_L);
        t->ci[k] = -sin(2.0 * pi * k / EF_L);
    }
    for (int k = 0; k < EF_BINS; k++) {
        t->wr[k] = cos(2.0 * pi * k / (2 * EF_L));
        t->wi[k] = -sin(2.0 * pi * k / (2 * EF_L));
    }
    for (int i = 0; i < EF_L; i++) {
        int r = 0;
        for (int b = 0; b < 6; b++) r |= ((i >> b) & 1) << (5 - b);
        t->rev[i] = r;
    }
}

static void ef_cfft(const ef_tables *t, double *re, double *im, int inverse) {
    for (int i = 0; i < EF_L; i++) {
        int j = t->rev[i];
        if (j > i) {
            double a = re[i]; re[i] = re[j]; re[j] = a;
            a = im[i]; im[i] = im[j]; im[j] = a;
        }
    }
    for (int size = 2; size <= EF_L; size <<= 1) {
        int half = size >> 1, step = EF_L / size;
        for (int start = 0; start < EF_L; start += size) {
            for (int k = 0; k < half; k++) {
                double wr = t->cr[k * step];
                double wi = inverse ? -t->ci[k * step] : t->ci[k * step];
                int a = start + k, b = a + half;
                double tr = wr * re[b] - wi * im[b];
                double ti = wr * im[b] + wi * re[b];
                re[b] = re[a] - tr; im[b] = im[a] - ti;
                re[a] += tr; im[a] += ti;
            }
        }
    }
}

static void ef_rfft(const ef_tables *t, const double *x, double *xr, double *xi) {
    double zr[EF_L], zi[EF_L];
    for (int n = 0; n < EF_L; n++) { zr[n] = x[2 * n]; zi[n] = x[2 * n + 1]; }
    ef_cfft(t, zr, zi, 0);
    for (int k = 0; k <= EF_L; k++) {
        int kk = k & (EF_L - 1), nk = (EF_L - k) & (EF_L - 1);
        double er = 0.5 * (zr[kk] + zr[nk]), ei = 0.5 * (zi[kk] - zi[nk]);
        double orr = 0.5 * (zi[kk] + zi[nk]), oi = -0.5 * (zr[kk] - zr[nk]);
        xr[k] = er + t->wr[k] * orr - t->wi[k] * oi;
        xi[k] = ei + t->wr[k] * oi + t->wi[k] * orr;
    }
}

static void ef_irfft(const ef_tables *t, const double *xr, const double *xi, double *x) {
    double zr[EF_L], zi[EF_L];
    for (int k = 0; k < EF_L; k++) {
        int nk = EF_L - k;
        double xik = (k == 0) ? 0.0 : xi[k];
        double xink = (nk == EF_L) ? 0.0 : xi[nk];
        double er = 0.5 * (xr[k] + xr[nk]), ei = 0.5 * (xik - xink);
        double ar = 0.5 * (xr[k] - xr[nk]), ai = 0.5 * (xik + xink);
        double orr = ar * t->wr[k] + ai * t->wi[k];
        double oi = ai * t->wr[k] - ar * t->wi[k];
        zr[k] = er - oi;
        zi[k] = ei + orr;
    }
    ef_cfft(t, zr, zi, 1);
    for (int n = 0; n < EF_L; n++) {
        x[2 * n] = zr[n] / EF_L;
        x[2 * n + 1] = zi[n] / EF_L;
    }
}

#endif
