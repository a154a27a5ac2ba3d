/* minhash_native.minima's loop with AVX-512 (8 products and minima per instruction), chosen at
 * run time: il_simd_ready() says whether this CPU has AVX-512F/DQ (vpmullq, vpminuq). The
 * arithmetic is the scalar loop's: uint64 products wrapping mod 2^64, the unsigned minimum per
 * multiplier, its top 32 bits. Elsewhere (another architecture or compiler) il_simd_ready() is
 * 0 and the scalar loop in minhash_native.pyx runs. */
#ifndef IL_MINIMA_SIMD_H
#define IL_MINIMA_SIMD_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#include <immintrin.h>
#define IL_SIMD 1

static int il_simd_ready(void) {
    static int ready = -1;
    if (ready < 0) {
        __builtin_cpu_init();
        ready = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    }
    return ready;
}

__attribute__((target("avx512f,avx512dq")))
static void il_minima_simd(const uint64_t *multipliers, ptrdiff_t m, const uint64_t *hashes, ptrdiff_t n,
                           uint64_t *lowest) {
    for (ptrdiff_t p = 0; p < m; p++) {
        const uint64_t a = multipliers[p];
        const __m512i va = _mm512_set1_epi64((long long) a);
        __m512i b0 = _mm512_set1_epi64(-1), b1 = b0;  /* two running minima: two dependency chains */
        ptrdiff_t j = 0;
        for (; j + 16 <= n; j += 16) {
            b0 = _mm512_min_epu64(b0, _mm512_mullo_epi64(va, _mm512_loadu_si512((const void *) (hashes + j))));
            b1 = _mm512_min_epu64(b1, _mm512_mullo_epi64(va, _mm512_loadu_si512((const void *) (hashes + j + 8))));
        }
        if (j + 8 <= n) {
            b0 = _mm512_min_epu64(b0, _mm512_mullo_epi64(va, _mm512_loadu_si512((const void *) (hashes + j))));
            j += 8;
        }
        uint64_t best = _mm512_reduce_min_epu64(_mm512_min_epu64(b0, b1));
        for (; j < n; j++) {
            const uint64_t v = a * hashes[j];
            if (v < best)
                best = v;
        }
        lowest[p] = best >> 32;
    }
}

#else
#define IL_SIMD 0

static int il_simd_ready(void) { return 0; }

/* Never called where il_simd_ready() is 0; defined so the module links everywhere. */
static void il_minima_simd(const uint64_t *multipliers, ptrdiff_t m, const uint64_t *hashes, ptrdiff_t n,
                           uint64_t *lowest) {
    (void) multipliers; (void) m; (void) hashes; (void) n; (void) lowest;
}
#endif

#endif
