/* The fused CPU kernels: each op's forward (and gradient) in one pass over its data.

Built by cpu.py with the system C compiler for this machine (-O3 -march=native), once per
source/compiler/flags, into genbench's cache, twice: with `real` = float and with
-DREAL_DOUBLE for double. Plain C that gcc and clang vectorise; no -ffast-math, so NaN and
infinity follow IEEE rules (only -fno-trapping-math -fno-math-errno, which let branches become
selects).

Work is split by cpu.py into fixed chunks (CHUNK elements, or the whole rows or samples nearest
to it); each call handles a contiguous run of chunks and writes one partial sum per chunk, so
totals are added in the same order whatever the number of threads: same inputs, same bits.

In float, exp(a) for a <= 0 is a polynomial on [-ln2/2, ln2/2] scaled by 2^n, and log1p(e) for
e in [0, 1] is e times a polynomial: both within a few ulp of libm, and vectorisable. In double
the libm functions are used: double is for gradient checks, not speed.
*/

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef REAL_DOUBLE
typedef double real;
#define ABS fabs
#else
typedef float real;
#define ABS fabsf
#endif

#define BLOCK 256 /* values summed in real before adding to a double total */

/* Sum of v[0:m] in a fixed order: 8 interleaved lanes, added pairwise, then the tail. */
static inline double block_sum(const real *v, int64_t m) {
    real lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= m; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += v[i + j];
    for (int width = 4; width > 0; width /= 2)
        for (int j = 0; j < width; j++) lane[j] += lane[j + width];
    double total = lane[0];
    for (; i < m; i++) total += v[i];
    return total;
}

#ifdef REAL_DOUBLE
static inline double exp_nonpositive(double a) { return exp(a); }
#else
/* exp(a) for a <= 0 (or NaN): a = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6
   polynomial, times 2^n built in the exponent bits. Below -87 (near FLT_MIN) it returns 0. */
static inline float exp_nonpositive(float a) {
    float x = a < -87.0f ? -87.0f : a;                 /* NaN stays NaN */
    float shifted = x * 1.44269504f + 12582912.0f;     /* 1.5 * 2^23 + round(x / ln2) */
    float n = shifted - 12582912.0f;
    float r = (x - n * 0.693359375f) + n * 2.12194440e-4f; /* x - n ln2, ln2 in two parts */
    float p = 1.3888889e-3f;
    p = p * r + 8.3333338e-3f;
    p = p * r + 4.1666664e-2f;
    p = p * r + 1.6666667e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits;                                    /* 2^n: n + 127 in the exponent field */
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n);
    return a < -87.0f ? 0.0f : p * two_n;             /* NaN: p is NaN */
}
#endif

/* softplus(u) = max(u, 0) + log1p(exp(-|u|)) and sigmoid(u), sharing one exp; finite for
   every finite u, NaN stays NaN. */
static inline void softplus_sigmoid(real u, real *softplus, real *sigmoid) {
    real e = exp_nonpositive(-ABS(u));
#ifdef REAL_DOUBLE
    *softplus = (u > 0 ? u : 0) + log1p(e);
    *sigmoid = (u >= 0 ? 1 : e) / (1 + e);
#else
    /* log1p(e) = e P(e) on [0, 1]: P of degree 9 interpolating log1p(e) / e at Chebyshev
       nodes (relative error 1.2e-8 before rounding) */
    float p = -0.003176057f;
    p = p * e + 0.019542528f;
    p = p * e - 0.056373615f;
    p = p * e + 0.105436236f;
    p = p * e - 0.15269667f;
    p = p * e + 0.19663274f;
    p = p * e - 0.24951616f;
    p = p * e + 0.3332971f;
    p = p * e - 0.49999893f;
    p = p * e + 1.0f;
    *softplus = (u > 0 ? u : 0.0f) + e * p;
    *sigmoid = (u >= 0 ? 1.0f : e) / (1.0f + e);
#endif
}

/* GAN loss terms t(x) and scale * t'(x) (fused.py's Term):
   op 0 softplus: a softplus(k x); 1 square: (x - k)^2 / 2; 2 hinge: relu(1 + k x); 3 linear: k x.
   For x[start:start + count] in chunks of `chunk`: writes grad, the terms to `terms` unless it
   is NULL, and each chunk's sum of terms to partial[0:chunks]. */
void gan_terms(const real *x, real *terms, real *grad, double *partial, int64_t start,
               int64_t count, int64_t chunk, int op, real k, real a, real scale) {
    real buffer[BLOCK];
    for (int64_t c = 0; c * chunk < count; c++) {
        double total = 0;
        int64_t chunk_end = (c + 1) * chunk < count ? (c + 1) * chunk : count;
        for (int64_t b = c * chunk; b < chunk_end; b += BLOCK) {
            int64_t m = chunk_end - b < BLOCK ? chunk_end - b : BLOCK;
            const real *xb = x + start + b;
            real *gb = grad + start + b;
            real *tb = terms ? terms + start + b : buffer;
            if (op == 0) {
                real g = a * k * scale;
                for (int64_t i = 0; i < m; i++) {
                    real softplus, sigmoid;
                    softplus_sigmoid(k * xb[i], &softplus, &sigmoid);
                    tb[i] = a * softplus;
                    gb[i] = g * sigmoid;
                }
            } else if (op == 1) {
                for (int64_t i = 0; i < m; i++) {
                    real d = xb[i] - k;
                    tb[i] = (real)0.5 * d * d;
                    gb[i] = scale * d;
                }
            } else if (op == 2) {
                for (int64_t i = 0; i < m; i++) {
                    real margin = 1 + k * xb[i];
                    tb[i] = margin < 0 ? 0 : margin;           /* relu that keeps NaN */
                    gb[i] = margin <= 0 ? 0 : k * scale;       /* NaN passes the gradient */
                }
            } else {
                for (int64_t i = 0; i < m; i++) {
                    tb[i] = k * xb[i];
                    gb[i] = k * scale;
                }
            }
            total += block_sum(tb, m);
        }
        partial[c] = total;
    }
}

/* VAE loss for rows [start, start + count) of recon, target (rows, d) and mu, logvar
   (rows, z): per row, sum over d of softplus(r) - r t, plus beta times the sum over z of
   -(1 + lv - mu^2 - exp(lv)) / 2. Writes each row's loss to row_loss[row] and the gradients of
   scale * (sum of row losses) to g_recon, g_mu, g_logvar. */
void vae_terms(const real *recon, const real *target, const real *mu, const real *logvar,
               real *row_loss, real *g_recon, real *g_mu, real *g_logvar, int64_t start,
               int64_t count, int64_t d, int64_t z, real beta, real scale) {
    real buffer[BLOCK];
    for (int64_t row = start; row < start + count; row++) {
        double bce = 0;
        for (int64_t b = 0; b < d; b += BLOCK) {
            int64_t m = d - b < BLOCK ? d - b : BLOCK;
            const real *rb = recon + row * d + b, *tb = target + row * d + b;
            real *gb = g_recon + row * d + b;
            for (int64_t i = 0; i < m; i++) {
                real softplus, sigmoid;
                softplus_sigmoid(rb[i], &softplus, &sigmoid);
                buffer[i] = softplus - rb[i] * tb[i];
                gb[i] = scale * (sigmoid - tb[i]);
            }
            bce += block_sum(buffer, m);
        }
        double kl = 0;
        for (int64_t i = row * z; i < (row + 1) * z; i++) {
            real var = exp(logvar[i]);
            kl += -0.5 * (1 + logvar[i] - mu[i] * mu[i] - var);
            g_mu[i] = beta * scale * mu[i];
            g_logvar[i] = (real)0.5 * beta * scale * (var - 1);
        }
        row_loss[row] = (real)(bce + beta * kl);
    }
}

/* The channel ops see x as (batch, channels, s), s the product of the trailing dims. Work is
   given as samples [start, start + count), partial sums per chunk of `chunk` samples.

   Each op is written once, for a segment of elements, with its per-channel values read at
   index i * stride. For s >= SPREAD_MIN a segment is one channel's s values (stride 0: the
   channel's scalars). For smaller s (dense layers: s = 1; 4x4 maps: s = 16) one loop per
   channel would be too short to vectorise well, so the per-channel values are first spread to
   one per element of a sample (stride 1) and a segment is a whole sample; per-channel sums are
   then kept per element over the chunk's samples and added up per channel at its end. */

#define SPREAD_MIN 64
#define LEAKY(z) ((z) > 0 ? (z) : (z) * slope)
#define INLINE static inline __attribute__((always_inline))

/* out[c * s + i] = v[c] for each of the k arrays in v (n = channels * s values each), in one
   allocation; NULL when s >= SPREAD_MIN (no spreading). Freed with free(). */
static real *spread(const real *const *v, int k, int64_t channels, int64_t s) {
    if (s >= SPREAD_MIN)
        return NULL;
    real *out = malloc((size_t)(k * channels * s) * sizeof(real));
    for (int a = 0; a < k; a++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < s; i++) out[(a * channels + c) * s + i] = v[a][c];
    return out;
}

/* The `width` partial sums of the chunk holding sample b, zeroed at the chunk's first sample. */
static double *chunk_sums(double *partial, int64_t b, int64_t start, int64_t chunk,
                          int64_t width) {
    double *sums = partial + (b - start) / chunk * width;
    if ((b - start) % chunk == 0)
        for (int64_t k = 0; k < width; k++) sums[k] = 0;
    return sums;
}

/* Add a segment's values v[0:m] to per-channel sums: to sums[c] (stride 0: one channel), or
   element-wise to acc[0:m] (stride 1: a whole sample, folded by fold_sums later). */
INLINE void add_segment(const real *v, int64_t m, int64_t stride, double *sum, double *acc) {
    if (stride == 0)
        *sum += block_sum(v, m);
    else
        for (int64_t i = 0; i < m; i++) acc[i] += v[i];
}

/* After the last sample of a chunk (or of the call): add the element-wise accumulators acc
   (k arrays of channels * s) into the chunk's k * channels sums, and clear them. */
static void fold_sums(double *acc, double *sums, int k, int64_t channels, int64_t s) {
    for (int64_t j = 0; j < k * channels; j++) {
        double total = 0;
        for (int64_t i = 0; i < s; i++) total += acc[j * s + i];
        sums[j] += total;
        for (int64_t i = 0; i < s; i++) acc[j * s + i] = 0;
    }
}

static int last_of_chunk(int64_t b, int64_t start, int64_t count, int64_t chunk) {
    return (b - start + 1) % chunk == 0 || b == start + count - 1;
}

INLINE void bias_act_segment(const real *x, const real *bias, int64_t stride, real *y,
                             int64_t m, real slope) {
    for (int64_t i = 0; i < m; i++) {
        real v = x[i] + bias[i * stride];
        y[i] = LEAKY(v);
    }
}

/* y = leaky_relu(x + bias[c], slope). */
void bias_act_forward(const real *x, const real *bias, real *y, int64_t start, int64_t count,
                      int64_t channels, int64_t s, real slope) {
    int64_t n = channels * s;
    real *spread_bias = spread(&bias, 1, channels, s);
    for (int64_t b = start; b < start + count; b++) {
        const real *xb = x + b * n;
        real *yb = y + b * n;
        if (spread_bias)
            bias_act_segment(xb, spread_bias, 1, yb, n, slope);
        else
            for (int64_t c = 0; c < channels; c++)
                bias_act_segment(xb + c * s, bias + c, 0, yb + c * s, s, slope);
    }
    free(spread_bias);
}

INLINE void bias_act_grad_segment(const real *grad_y, const real *y, real *grad_x, int64_t m,
                                  real slope) {
    for (int64_t i = 0; i < m; i++) grad_x[i] = y[i] > 0 ? grad_y[i] : grad_y[i] * slope;
}

/* grad_x = grad_y * (1 if y > 0 else slope), and per chunk the per-channel sums of grad_x into
   partial[chunk][channels]. */
void bias_act_grad(const real *grad_y, const real *y, real *grad_x, double *partial,
                   int64_t start, int64_t count, int64_t chunk, int64_t channels, int64_t s,
                   real slope) {
    int64_t n = channels * s;
    double *acc = s < SPREAD_MIN ? calloc((size_t)n, sizeof(double)) : NULL;
    for (int64_t b = start; b < start + count; b++) {
        double *sums = chunk_sums(partial, b, start, chunk, channels);
        const real *gb = grad_y + b * n, *yb = y + b * n;
        real *out = grad_x + b * n;
        bias_act_grad_segment(gb, yb, out, n, slope);
        if (acc) {
            add_segment(out, n, 1, NULL, acc);
            if (last_of_chunk(b, start, count, chunk))
                fold_sums(acc, sums, 1, channels, s);
        } else {
            for (int64_t c = 0; c < channels; c++)
                add_segment(out + c * s, s, 0, sums + c, NULL);
        }
    }
    free(acc);
}

INLINE void moments_segment(const real *x, const real *shift, int64_t stride, real *centred,
                            real *squared, int64_t m) {
    for (int64_t i = 0; i < m; i++) {
        centred[i] = x[i] - shift[i * stride];
        squared[i] = centred[i] * centred[i];
    }
}

/* Per chunk, the per-channel sums of (x - shift[c]) and of its square into
   partial[chunk][2][channels]. The shift (one value of the channel) keeps the variance free of
   cancellation when |mean| >> std. */
void channel_moments(const real *x, const real *shift, double *partial, int64_t start,
                     int64_t count, int64_t chunk, int64_t channels, int64_t s) {
    int64_t n = channels * s;
    real *spread_shift = spread(&shift, 1, channels, s);
    double *acc = spread_shift ? calloc((size_t)(2 * n), sizeof(double)) : NULL;
    real centred[BLOCK], squared[BLOCK];
    for (int64_t b = start; b < start + count; b++) {
        double *sums = chunk_sums(partial, b, start, chunk, 2 * channels);
        const real *xb = x + b * n;
        if (acc) {
            for (int64_t k = 0; k < n; k += BLOCK) {
                int64_t m = n - k < BLOCK ? n - k : BLOCK;
                moments_segment(xb + k, spread_shift + k, 1, centred, squared, m);
                add_segment(centred, m, 1, NULL, acc + k);
                add_segment(squared, m, 1, NULL, acc + n + k);
            }
            if (last_of_chunk(b, start, count, chunk))
                fold_sums(acc, sums, 2, channels, s);
            continue;
        }
        for (int64_t c = 0; c < channels; c++)
            for (int64_t k = 0; k < s; k += BLOCK) {
                int64_t m = s - k < BLOCK ? s - k : BLOCK;
                moments_segment(xb + c * s + k, shift + c, 0, centred, squared, m);
                add_segment(centred, m, 0, sums + c, NULL);
                add_segment(squared, m, 0, sums + channels + c, NULL);
            }
    }
    free(acc);
    free(spread_shift);
}

/* z = (x - mean) * gain + bias with gain = rstd * weight: the normalised value, the same bits
   in forward and backward. */
#define NORMALISED(v, i) (((v) - mean[(i) * stride]) * gain[(i) * stride] + bias[(i) * stride])

INLINE void batchnorm_apply_segment(const real *x, const real *mean, const real *gain,
                                    const real *bias, int64_t stride, real *y, int64_t m,
                                    real slope) {
    for (int64_t i = 0; i < m; i++) {
        real z = NORMALISED(x[i], i);
        y[i] = LEAKY(z);
    }
}

/* y = leaky_relu(z, slope). */
void batchnorm_apply(const real *x, const real *mean, const real *gain, const real *bias,
                     real *y, int64_t start, int64_t count, int64_t channels, int64_t s,
                     real slope) {
    int64_t n = channels * s;
    const real *params[] = {mean, gain, bias};
    real *p = spread(params, 3, channels, s);
    for (int64_t b = start; b < start + count; b++) {
        const real *xb = x + b * n;
        real *yb = y + b * n;
        if (p)
            batchnorm_apply_segment(xb, p, p + n, p + 2 * n, 1, yb, n, slope);
        else
            for (int64_t c = 0; c < channels; c++)
                batchnorm_apply_segment(xb + c * s, mean + c, gain + c, bias + c, 0, yb + c * s,
                                        s, slope);
    }
    free(p);
}

INLINE void batchnorm_dz_segment(const real *grad_y, const real *x, const real *mean,
                                 const real *rstd, const real *gain, const real *bias,
                                 int64_t stride, real *dz, real *dz_x_hat, int64_t m,
                                 real slope) {
    for (int64_t i = 0; i < m; i++) {
        real z = NORMALISED(x[i], i);
        dz[i] = z > 0 ? grad_y[i] : grad_y[i] * slope;
        dz_x_hat[i] = dz[i] * ((x[i] - mean[i * stride]) * rstd[i * stride]);
    }
}

/* With dz = grad_y * (1 if z > 0 else slope) and x_hat = (x - mean) * rstd: per chunk, the
   per-channel sums of dz and of dz * x_hat into partial[chunk][2][channels]. */
void batchnorm_grad_sums(const real *grad_y, const real *x, const real *mean, const real *rstd,
                         const real *gain, const real *bias, double *partial, int64_t start,
                         int64_t count, int64_t chunk, int64_t channels, int64_t s,
                         real slope) {
    int64_t n = channels * s;
    const real *params[] = {mean, rstd, gain, bias};
    real *p = spread(params, 4, channels, s);
    double *acc = p ? calloc((size_t)(2 * n), sizeof(double)) : NULL;
    real dz[BLOCK], dz_x_hat[BLOCK];
    for (int64_t b = start; b < start + count; b++) {
        double *sums = chunk_sums(partial, b, start, chunk, 2 * channels);
        const real *gb = grad_y + b * n, *xb = x + b * n;
        if (acc) {
            for (int64_t k = 0; k < n; k += BLOCK) {
                int64_t m = n - k < BLOCK ? n - k : BLOCK;
                batchnorm_dz_segment(gb + k, xb + k, p + k, p + n + k, p + 2 * n + k,
                                     p + 3 * n + k, 1, dz, dz_x_hat, m, slope);
                add_segment(dz, m, 1, NULL, acc + k);
                add_segment(dz_x_hat, m, 1, NULL, acc + n + k);
            }
            if (last_of_chunk(b, start, count, chunk))
                fold_sums(acc, sums, 2, channels, s);
            continue;
        }
        for (int64_t c = 0; c < channels; c++)
            for (int64_t k = 0; k < s; k += BLOCK) {
                int64_t m = s - k < BLOCK ? s - k : BLOCK;
                batchnorm_dz_segment(gb + c * s + k, xb + c * s + k, mean + c, rstd + c,
                                     gain + c, bias + c, 0, dz, dz_x_hat, m, slope);
                add_segment(dz, m, 0, sums + c, NULL);
                add_segment(dz_x_hat, m, 0, sums + channels + c, NULL);
            }
    }
    free(acc);
    free(p);
}

INLINE void batchnorm_grad_input_segment(const real *grad_y, const real *x, const real *mean,
                                         const real *rstd, const real *gain, const real *bias,
                                         const real *mean_dz, const real *mean_dz_x_hat,
                                         int64_t stride, real *grad_x, int64_t m, real slope) {
    for (int64_t i = 0; i < m; i++) {
        real z = NORMALISED(x[i], i);
        real dz = z > 0 ? grad_y[i] : grad_y[i] * slope;
        real x_hat = (x[i] - mean[i * stride]) * rstd[i * stride];
        grad_x[i] = gain[i * stride] *
                    (dz - mean_dz[i * stride] - x_hat * mean_dz_x_hat[i * stride]);
    }
}

/* grad_x = gain * (dz - mean_dz[c] - x_hat * mean_dz_x_hat[c]), the means being the sums above
   over the channel's values, divided by their number. */
void batchnorm_grad_input(const real *grad_y, const real *x, const real *mean, const real *rstd,
                          const real *gain, const real *bias, const real *mean_dz,
                          const real *mean_dz_x_hat, real *grad_x, int64_t start,
                          int64_t count, int64_t channels, int64_t s, real slope) {
    int64_t n = channels * s;
    const real *params[] = {mean, rstd, gain, bias, mean_dz, mean_dz_x_hat};
    real *p = spread(params, 6, channels, s);
    for (int64_t b = start; b < start + count; b++) {
        const real *gb = grad_y + b * n, *xb = x + b * n;
        real *out = grad_x + b * n;
        if (p)
            batchnorm_grad_input_segment(gb, xb, p, p + n, p + 2 * n, p + 3 * n, p + 4 * n,
                                         p + 5 * n, 1, out, n, slope);
        else
            for (int64_t c = 0; c < channels; c++)
                batchnorm_grad_input_segment(gb + c * s, xb + c * s, mean + c, rstd + c,
                                             gain + c, bias + c, mean_dz + c,
                                             mean_dz_x_hat + c, 0, out + c * s, s, slope);
    }
    free(p);
}
