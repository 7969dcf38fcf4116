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
    /* per stage s (half = 1 << s), twiddles e^{-+2 pi i k / (2 half)} for k < half, stored at
     * [half - 1 + k]: contiguous, so the butterfly loop vectorises */
    double fr[EF_L - 1], fi[EF_L - 1];   /* forward */
    double ir[EF_L - 1], ii[EF_L - 1];   /* inverse */
    double wr[EF_BINS], wi[EF_BINS];     /* e^{-2 pi i k / 128} */
    int rev[EF_L];
} ef_tables;

static void ef_init(ef_tables *t) {
    const double pi = 3.14159265358979323846;
    for (int half = 1; half < EF_L; half <<= 1) {
        for (int k = 0; k < half; k++) {
            double a = pi * k / half;
            t->fr[half - 1 + k] = cos(a);
            t->fi[half - 1 + k] = -sin(a);
            t->ir[half - 1 + k] = cos(a);
            t->ii[half - 1 + k] = sin(a);
        }
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

static void ef_cfft(const ef_tables *t, double *restrict re, double *restrict im,
                    int inverse) {
    for (int i = 0; i < EF_L; i++) {
        int j = t->rev[i];
        if (j > i) {
            double a = re[i]; re[i] = re[j]; re[j] = a;
            a = im[i]; im[i] = im[j]; im[j] = a;
        }
    }
    /* the first two stages as one radix-4 pass: twiddles 1 and -i (+i inverse), no multiply */
    double sgn = inverse ? -1.0 : 1.0;
    for (int g = 0; g < EF_L; g += 4) {
        double r0 = re[g] + re[g + 1], i0 = im[g] + im[g + 1];
        double r1 = re[g] - re[g + 1], i1 = im[g] - im[g + 1];
        double r2 = re[g + 2] + re[g + 3], i2 = im[g + 2] + im[g + 3];
        double r3 = re[g + 2] - re[g + 3], i3 = im[g + 2] - im[g + 3];
        double tr = sgn * i3, ti = -sgn * r3;   /* (-i or +i) * (r3 + i i3) */
        re[g] = r0 + r2; im[g] = i0 + i2;
        re[g + 2] = r0 - r2; im[g + 2] = i0 - i2;
        re[g + 1] = r1 + tr; im[g + 1] = i1 + ti;
        re[g + 3] = r1 - tr; im[g + 3] = i1 - ti;
    }
    const double *twr = inverse ? t->ir : t->fr;
    const double *twi = inverse ? t->ii : t->fi;
    for (int half = 4; half < EF_L; half <<= 1) {
        const double *wr = twr + half - 1, *wi = twi + half - 1;
        for (int start = 0; start < EF_L; start += 2 * half) {
            double *ar = re + start, *ai = im + start;
            double *br = ar + half, *bi = ai + half;
            for (int k = 0; k < half; k++) {
                double tr = wr[k] * br[k] - wi[k] * bi[k];
                double ti = wr[k] * bi[k] + wi[k] * br[k];
                br[k] = ar[k] - tr; bi[k] = ai[k] - ti;
                ar[k] += tr; ai[k] += ti;
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
