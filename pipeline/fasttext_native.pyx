# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""fastText supervised prediction (k=1) for quantized models such as lid.176.ftz, in C.

The same computation as fasttext-predict's ``predict(line, 1, 0.0)`` (fastText 0.9.2:
Dictionary::getLine, computeSubwords, QuantMatrix rows, hierarchical-softmax dfs), operation
for operation in the same float types, so labels and probabilities are bit-identical
(tests/pipeline/test_fasttext_native.py compares them with the binding). It is about 6x cheaper
because it does without what dominates the binding's profile: an unordered_map lookup per
character n-gram (here a bit per bucket, and a kept bucket's index is its rank), a std::string per n-gram and
token, and the per-call stream set-up. Quantized rows are decoded once at load (alpha * code
centroid, the very products fastText adds), so the hidden vector sums the same floats.

``predict_texts`` gives pipeline.langid's results for whole texts: it reads the words of each
str where langid would build the line (" ".join(text[:max_chars].split()) + "\n") and hand it
to ``predict``, with the same rows added in the same order, so the same floats.

Words are looked up in one set-associative table (TABLE_SETS sets of WAYS ways, 4 MB): a
word's hash picks a set, one line of tags says which way may hold it, and that way (a cache
line) holds its bytes and rows. The dictionary's words are pinned there; out-of-vocabulary
words' n-gram rows are kept as they are met (a page's paragraphs repeat its document's words,
and pages share many), replaced at random once their set is full; one too long for a way keeps
its rows in a 1 MB ring. So most words cost one probe instead of an n-gram hash each.

Only what lid.176 uses is supported (supervised, hierarchical softmax, quantized input,
wordNgrams 1); ``load_model`` refuses anything else and the caller keeps the binding.
"""

cimport cython
from cpython.unicode cimport (PyUnicode_1BYTE_KIND, PyUnicode_2BYTE_KIND, PyUnicode_CheckExact, PyUnicode_DATA,
                              PyUnicode_GET_LENGTH, PyUnicode_KIND)
from libc.math cimport expf, log, nearbyint
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

import struct

import numpy as np

cdef extern from *:
    """
    #include <string.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* a % d for 32-bit a and d > 0 without a division (Lemire, Kaser, Kurz 2019, "Faster
       remainder by direct computation"): exact for every 32-bit a once m = 2^64 / d + 1. */
    static inline uint32_t il_fastmod(uint32_t a, uint64_t m, uint32_t d) {
        uint64_t low = m * a;
        return (uint32_t)(((__uint128_t) low * d) >> 64);
    }
    /* "</s>" and the label prefix for the per-token compares, where a Python global costs a lookup */
    static const char il_eos[] = "</s>";
    static const char il_label_prefix[] = "__label__";

    /* One way of the word table, a cache line: the word's UTF-8 zero-padded to a multiple of 8,
       then its rows (int32); or, for a dictionary word whose bytes and rows do not fit in the
       56 bytes, the same layout at ``arena`` in the model's arena. */
    typedef struct { uint32_t arena; uint16_t len; uint16_t nrows; uint8_t data[56]; } il_slot;
    static inline Py_ssize_t il_pad8(Py_ssize_t n) { return (n + 7) & ~(Py_ssize_t) 7; }
    static inline int il_fits(Py_ssize_t len, Py_ssize_t nrows) { return il_pad8(len) + 4 * nrows <= 56; }
    /* Two zero-padded words, 8 bytes at a time (no memcmp call for a word of a few bytes). */
    static inline int il_same_key(const uint8_t* a, const uint8_t* b, Py_ssize_t len) {
        for (Py_ssize_t k = 0; k < len; k += 8) {
            uint64_t x, y;
            memcpy(&x, a + k, 8);
            memcpy(&y, b + k, 8);
            if (x != y) return 0;
        }
        return 1;
    }
    /* A word's set: the high bits of its hash times 2^32 / golden ratio (Knuth's multiplicative
       hashing), so the set does not repeat the low bits fastText's bucket index reads. */
    static inline uint32_t il_set(uint32_t h, int shift) { return (uint32_t) (h * 2654435769u) >> shift; }
    /* Bit w set where tags[w] == h, for the 15 ways of a set (tags[15] is its bookkeeping). */
    static inline uint32_t il_matches(const uint32_t* tags, uint32_t h) {
    #if defined(__SSE2__)
        __m128i k = _mm_set1_epi32((int) h);
        uint32_t m = 0;
        for (int q = 0; q < 4; q++) {
            __m128i t = _mm_load_si128((const __m128i*) (tags + 4 * q));
            m |= (uint32_t) _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(t, k))) << (4 * q);
        }
        return m & 0x7FFF;
    #else
        uint32_t m = 0;
        for (int w = 0; w < 15; w++) m |= (uint32_t) (tags[w] == h) << w;
        return m;
    #endif
    }
    static inline int il_ctz(uint32_t m) { return __builtin_ctz(m); }
    /* hidden += each row in turn, elementwise in float as fastText's Vector::addRow: the same
       sums in the same order, in registers for lid.176's 16 dimensions. */
    static inline void il_add_rows(float* restrict hidden, const float* restrict input, int dim,
                                   const int32_t* rows, Py_ssize_t n) {
        if (dim == 16) {
            float acc[16];
            memcpy(acc, hidden, sizeof acc);
            for (Py_ssize_t r = 0; r < n; r++) {
                const float* row = input + (Py_ssize_t) rows[r] * 16;
                for (int d = 0; d < 16; d++) acc[d] += row[d];
            }
            memcpy(hidden, acc, sizeof acc);
            return;
        }
        for (Py_ssize_t r = 0; r < n; r++) {
            const float* row = input + (Py_ssize_t) rows[r] * dim;
            for (int d = 0; d < dim; d++) hidden[d] += row[d];
        }
    }
    /* bits set in m (SWAR: without -mpopcnt, __builtin_popcountll is a call into libgcc) */
    static inline int il_popcount(uint64_t m) {
        m = m - ((m >> 1) & 0x5555555555555555ull);
        m = (m & 0x3333333333333333ull) + ((m >> 2) & 0x3333333333333333ull);
        m = (m + (m >> 4)) & 0x0F0F0F0F0F0F0F0Full;
        return (int) ((m * 0x0101010101010101ull) >> 56);
    }
    """
    uint32_t il_fastmod(uint32_t a, uint64_t m, uint32_t d) nogil
    const char* il_eos
    const char* il_label_prefix
    ctypedef struct il_slot:
        uint32_t arena
        uint16_t len
        uint16_t nrows
        uint8_t data[56]
    Py_ssize_t il_pad8(Py_ssize_t n) nogil
    bint il_fits(Py_ssize_t length, Py_ssize_t nrows) nogil
    bint il_same_key(const uint8_t* a, const uint8_t* b, Py_ssize_t length) nogil
    uint32_t il_set(uint32_t h, int shift) nogil
    uint32_t il_matches(const uint32_t* tags, uint32_t h) nogil
    int il_ctz(uint32_t m) nogil
    void il_add_rows(float* hidden, const float* input, int dim, const int32_t* rows, Py_ssize_t n) nogil
    int il_popcount(uint64_t m) nogil

cdef extern from "stdlib.h":
    void* aligned_alloc(size_t alignment, size_t size) nogil

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object unicode, Py_ssize_t *size) except NULL
    int PyUnicode_READY(object unicode) except -1

cdef enum:
    MAX_DIM = 64
    # The word table: dictionary words and out-of-vocabulary words met, SETS sets of WAYS ways
    # (a way is a 64-byte il_slot) and a line of 16 tags per set (the ways' hashes, then the
    # set's bookkeeping: pinned dictionary ways, low byte; ways filled since, next byte).
    TABLE_SETS = 4096
    WAYS = 15
    RING_BYTES = 1 << 20
    RANDOM_SEED = 2463534242  # _remember's xorshift32 state at start (Marsaglia's example seed)

FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSION = 12
LOSS_HS = 1
MODEL_SUP = 3
EOS = b"</s>"
# out-of-vocabulary words the table can hold (lid.176's dictionary pins 7411 of these ways)
OOV_CACHE_ENTRIES = TABLE_SETS * WAYS
DEFAULT_SETS, WAYS_PER_SET = TABLE_SETS, WAYS  # for the tests

cdef inline uint32_t fnv_step(uint32_t h, uint8_t byte) noexcept nogil:
    # fastText hashes signed chars: h ^ uint32_t(int8_t(c)) (kept for model compatibility).
    return (h ^ <uint32_t> <int32_t> <int8_t> byte) * 16777619u


cdef inline uint32_t put_byte(uint8_t *word, Py_ssize_t at, uint8_t byte, uint32_t h) noexcept nogil:
    """Write one byte of a word's UTF-8 and return the FNV hash with it."""
    word[at] = byte
    return fnv_step(h, byte)


cdef inline bint is_space(uint8_t c) noexcept nogil:
    return c == 32 or c == 10 or c == 13 or c == 9 or c == 11 or c == 12 or c == 0


cdef inline bint is_split_space(uint32_t c) noexcept nogil:
    """Py_UNICODE_ISSPACE: what str.split() splits on (checked against str.isspace for every
    code point in the test), inline where CPython calls _PyUnicode_IsWhitespace."""
    if c < 0x85:
        # bits 9-13 (\t \n \v \f \r), 28-31 (\x1c-\x1f) and 32 (space)
        return c < 64 and ((<uint64_t> 0x1F0003E00 >> c) & 1) != 0
    if c < 0x1680:
        return c == 0x85 or c == 0xA0
    return (c == 0x1680 or 0x2000 <= c <= 0x200A or c == 0x2028 or c == 0x2029 or c == 0x202F
            or c == 0x205F or c == 0x3000)


def split_spaces() -> list:
    """The code points ``is_split_space`` accepts, for the test against str.isspace."""
    cdef uint32_t c
    return [c for c in range(0x110000) if is_split_space(c)]


cdef inline double round4(double p):
    """round(p, 4) as Python gives it. For a float32 value p (what predict returns), p * 10000
    is exact in a double (24 + 10 mantissa bits), so nearbyint rounds the exact product half
    to even as Python's correctly rounded dtoa does, and r / 10000 is the double nearest to
    the decimal r * 1e-4, as Python's strtod of it is. Other doubles take Python's round."""
    if <double> <float> p != p:
        return round(p, 4)
    return nearbyint(p * 10000.0) / 10000.0


def _round4(double p) -> float:
    """round4 for the test against Python's round."""
    return round4(p)


@cython.final  # direct, inlinable calls to its cdef methods, not through a vtable
cdef class FastTextModel:
    cdef:
        int dim, minn, maxn, nwords, size
        uint32_t bucket
        uint64_t bucket_m  # il_fastmod's multiplier for bucket
        float log_threshold
        # Kept buckets: a bit per bucket (lid.176 keeps 2% of its 2M buckets, so these 250 KB
        # stay in cache), the kept buckets before each 64-bit word, and each kept bucket's
        # pruned index in bucket order: a bucket's index is the rank of its bit, where a flat
        # bucket -> index array would be 8 MB read at random.
        uint64_t[::1] kept
        uint32_t[::1] kept_rank
        int32_t[::1] kept_index
        float[:, ::1] input_rows  # decoded input rows (alpha * centroid), row = word id or nwords + pruned index
        float[:, ::1] output_rows  # decoded output rows (centroids), dot product times output_alpha
        float[::1] output_alpha
        int32_t[::1] left
        int32_t[::1] right
        int nlabels
        list labels
        list short_labels  # without "__label__", as pipeline.langid reports them
        # the line being predicted: the sum of its rows and how many
        float hidden[MAX_DIM]
        int64_t count
        # scratch: a token bracketed "<token>" and its n-gram rows; the token being looked up
        # (UTF-8, zero-padded to a multiple of 8 for il_same_key)
        uint8_t* bracketed
        int32_t* rows
        Py_ssize_t capacity
        uint8_t* word
        Py_ssize_t word_capacity
        # The word table (see TABLE_SETS): the dictionary's words pinned in their sets, and
        # out-of-vocabulary words met, replaced at random once a set is full; a word's rows are those
        # getLine adds for it, in the same order, so a hit adds the same floats.
        uint32_t* tags
        il_slot* slots
        uint8_t* arena  # dictionary words that do not fit in a way: bytes and rows as in il_slot.data
        # out-of-vocabulary words that do not fit in a way, the same layout, written in turn
        # round ring_bytes (RING_BYTES); ring_end counts the bytes ever written (a way keeps the count where
        # its word starts, so it knows when the ring has come round over it)
        uint8_t* ring
        uint64_t ring_bytes
        readonly uint64_t ring_end
        readonly Py_ssize_t sets  # the table's (read by the tests)
        int set_shift  # il_set's: 32 - log2(sets)
        uint32_t random  # xorshift32 state for _remember
        # dfs state
        float best_score
        int32_t best_node
        bint have_best

    def __init__(self, dict parts, Py_ssize_t sets=TABLE_SETS, Py_ssize_t ring_bytes=RING_BYTES):
        """``sets`` (doubled while the dictionary overflows one) and ``ring_bytes`` (for the
        tests' small tables): powers of 2."""
        if sets < 2 or sets & (sets - 1) or ring_bytes < 64 or ring_bytes & (ring_bytes - 1):
            raise ValueError("sets and ring_bytes must be powers of 2")
        self.dim = parts["dim"]
        self.minn, self.maxn, self.bucket = parts["minn"], parts["maxn"], parts["bucket"]
        self.bucket_m = (0xFFFFFFFFFFFFFFFF // self.bucket + 1) & 0xFFFFFFFFFFFFFFFF
        self.nwords, self.size, self.nlabels = parts["nwords"], len(parts["entries"]), parts["nlabels"]
        self.log_threshold = <float> log(<double> (<float> 0.0) + 1e-5)
        entries = parts["entries"]
        self.labels = [word.decode("utf-8", "replace") for word, t in entries if t == 1]
        self.short_labels = [label.removeprefix("__label__") for label in self.labels]
        self._kept_buckets(parts["pruneidx"])
        self.input_rows = parts["input_rows"]
        self.output_rows = parts["output_rows"]
        self.output_alpha = parts["output_alpha"]
        self.left, self.right = parts["left"], parts["right"]
        self._grow_word(256)
        self._pin_dictionary(entries, sets)
        self.ring_bytes = ring_bytes
        self.ring = <uint8_t*> malloc(ring_bytes)
        if self.ring == NULL:
            raise MemoryError()
        self.random, self.ring_end = RANDOM_SEED, 0

    def _kept_buckets(self, list pruneidx):
        index = {}
        for bucket, i in pruneidx:  # a later pair wins, as in fastText's pruneidx_ map
            if 0 <= bucket < self.bucket:
                index[bucket] = i
        buckets = np.array(sorted(index), dtype=np.int64)
        words = (self.bucket + 63) // 64
        kept = np.zeros(words, dtype=np.uint64)
        np.bitwise_or.at(kept, buckets >> 6, np.left_shift(np.uint64(1), (buckets & 63).astype(np.uint64)))
        per_word = np.bincount(buckets >> 6, minlength=words)
        self.kept = kept
        self.kept_rank = (np.cumsum(per_word) - per_word).astype(np.uint32)  # kept before each word
        self.kept_index = np.array([index[b] for b in buckets.tolist()] + [0], dtype=np.int32)

    def _pin_dictionary(self, list entries, Py_ssize_t sets):
        """Each dictionary word in its set with its rows (the word, then its character n-grams,
        as initNgrams computes them; none for a label); twice the sets while one overflows."""
        cdef int32_t[::1] scratch
        cdef int n
        rows = []
        for i, (word, entry_type) in enumerate(entries):
            if len(word) > 0xFFFF:
                raise ValueError("a dictionary word of more than 65535 bytes")
            if entry_type != 0:
                rows.append(np.zeros(0, dtype=np.int32))
                continue
            scratch = np.empty(4 * (len(word) + 2) * max(self.maxn, 1) + 8, dtype=np.int32)
            n = 0 if word == EOS else self._subwords(b"<" + word + b">", len(word) + 2, &scratch[0])
            rows.append(np.concatenate([[i], scratch[:n]]).astype(np.int32))
            if n >= 0xFFFF:
                raise ValueError("a dictionary word with more than 65535 rows")
        while not self._try_pin(entries, rows, sets):
            sets *= 2

    cdef bint _try_pin(self, list entries, list rows, Py_ssize_t sets) except -1:
        """Pin the dictionary in a table of ``sets`` sets (a power of 2); False when a set
        would need more than WAYS ways."""
        cdef Py_ssize_t i, length, n
        cdef uint32_t h, s, pinned
        cdef il_slot* slot
        cdef const uint8_t* data
        free(self.tags)
        free(self.slots)
        free(self.arena)
        self.tags, self.slots, self.arena, self.sets = NULL, NULL, NULL, sets
        self.set_shift = 32
        while sets > 1:
            sets //= 2
            self.set_shift -= 1
        self.tags = <uint32_t*> aligned_alloc(64, self.sets * 16 * sizeof(uint32_t))
        self.slots = <il_slot*> aligned_alloc(64, self.sets * WAYS * sizeof(il_slot))
        if self.tags == NULL or self.slots == NULL:
            raise MemoryError()
        memset(self.tags, 0, self.sets * 16 * sizeof(uint32_t))
        memset(self.slots, 0, self.sets * WAYS * sizeof(il_slot))
        arena = []
        arena_size = 0
        for i in range(len(entries)):
            word = entries[i][0]
            length, n = len(word), len(rows[i])
            h = self._hash(word)
            s = il_set(h, self.set_shift)
            pinned = self.tags[16 * s + WAYS]
            if pinned == WAYS:
                return False
            self.tags[16 * s + pinned] = h
            self.tags[16 * s + WAYS] = pinned + 1
            slot = &self.slots[WAYS * s + pinned]
            slot.len, slot.nrows = length, n
            # the word zero-padded, then its rows
            laid_out = word + bytes(il_pad8(length) - length) + rows[i].tobytes()
            if il_fits(length, n):
                data = laid_out
                memcpy(slot.data, data, len(laid_out))
            else:
                slot.arena = arena_size
                arena.append(laid_out)
                arena_size += len(laid_out)
        if arena_size:
            self.arena = <uint8_t*> malloc(arena_size)
            if self.arena == NULL:
                raise MemoryError()
            joined = b"".join(arena)
            data = joined
            memcpy(self.arena, data, arena_size)
        return True

    cdef uint32_t _hash(self, bytes word):
        cdef uint32_t h = 2166136261u
        cdef uint8_t c
        for c in word:
            h = fnv_step(h, c)
        return h

    cdef int _subwords(self, const uint8_t* word, Py_ssize_t length, int32_t* out) noexcept nogil:
        """Dictionary::computeSubwords + pushHash: the rows of ``word``'s character n-grams.
        The model's fields in locals: a store to ``out`` could alias them and reload them."""
        cdef Py_ssize_t i, j
        cdef int n, count = 0, minn = self.minn, maxn = self.maxn
        cdef int32_t nwords = self.nwords
        cdef uint32_t h, b, bucket = self.bucket
        cdef uint64_t bucket_m = self.bucket_m, bits
        cdef const uint64_t* kept = &self.kept[0]
        cdef const uint32_t* kept_rank = &self.kept_rank[0]
        cdef const int32_t* kept_index = &self.kept_index[0]
        for i in range(length):
            if (word[i] & 0xC0) == 0x80:
                continue
            h = 2166136261u
            j = i
            n = 1
            while j < length and n <= maxn:
                h = fnv_step(h, word[j])
                j += 1
                while j < length and (word[j] & 0xC0) == 0x80:
                    h = fnv_step(h, word[j])
                    j += 1
                if n >= minn and not (n == 1 and (i == 0 or j == length)):
                    b = il_fastmod(h, bucket_m, bucket)  # h % bucket
                    bits = kept[b >> 6]
                    if (bits >> (b & 63)) & 1:
                        out[count] = nwords + kept_index[
                            kept_rank[b >> 6] + il_popcount(bits & ((<uint64_t> 1 << (b & 63)) - 1))]
                        count += 1
                n += 1
        return count

    cdef inline void _add_rows(self, const int32_t* rows, Py_ssize_t n) noexcept nogil:
        il_add_rows(self.hidden, &self.input_rows[0, 0], self.dim, rows, n)
        self.count += n

    cdef void _dfs(self, int32_t node, float score) noexcept nogil:
        """HierarchicalSoftmaxLoss::dfs with k=1 (a later leaf with an equal score wins, as
        with std::push_heap / pop_heap there)."""
        cdef float f, denominator
        cdef int d
        cdef int32_t row
        if score < self.log_threshold:
            return
        if self.have_best and score < self.best_score:
            return
        if self.left[node] == -1 and self.right[node] == -1:
            self.best_score, self.best_node, self.have_best = score, node, True
            return
        row = node - self.nlabels
        f = 0.0
        for d in range(self.dim):
            f += self.hidden[d] * self.output_rows[row, d]
        f = f * self.output_alpha[row]
        denominator = expf(-f)
        denominator += 1  # in float, as fastText's 1 + std::exp(-f) on a float
        f = <float> (1. / denominator)
        self._dfs(self.left[node], score + <float> log(<double> (<float> (1.0 - f)) + 1e-5))
        self._dfs(self.right[node], score + <float> log(<double> f + 1e-5))

    def __dealloc__(self):
        free(self.bracketed)
        free(self.rows)
        free(self.word)
        free(self.tags)
        free(self.slots)
        free(self.arena)
        free(self.ring)

    def clear_cache(self) -> None:
        """Forget the out-of-vocabulary words met (for measurements and tests)."""
        cdef Py_ssize_t s, w, pinned
        for s in range(self.sets):
            pinned = self.tags[16 * s + WAYS] & 0xFF
            for w in range(pinned, WAYS):
                self.tags[16 * s + w] = 0
                self.slots[WAYS * s + w].len = 0
            self.tags[16 * s + WAYS] = pinned
        self.random, self.ring_end = RANDOM_SEED, 0

    cdef void _remember(self, uint32_t s, int32_t way, const uint8_t* token, Py_ssize_t length, uint32_t h,
                        const int32_t* rows, int32_t n) noexcept nogil:
        """An out-of-vocabulary word's rows into its set: in ``way`` (one whose ring entry was
        overwritten) or a free way, else in place of a word picked at random (a page cycling
        through more words than a set holds keeps some, where replacing them in turn keeps
        none); none when the dictionary fills the set. Its bytes and rows in the way, or in
        the ring when they do not fit there: a long word (a paragraph of a script written
        without spaces is one) is met again in the paragraph pass, and its n-grams are many.
        ``token`` is zero-padded as il_same_key reads it."""
        cdef uint32_t* tags = self.tags + 16 * s
        cdef uint32_t pinned = tags[WAYS] & 0xFF, filled = tags[WAYS] >> 8
        cdef il_slot* slot
        cdef Py_ssize_t pad = il_pad8(length), size = pad + 4 * n
        cdef uint64_t at
        cdef uint8_t* target
        if pinned == WAYS or (not il_fits(length, n) and (size > <Py_ssize_t> (self.ring_bytes // 8) or length > 0xFFFF)):
            return
        if way >= 0:
            pass
        elif pinned + filled < WAYS:
            way = pinned + filled
            tags[WAYS] = pinned | ((filled + 1) << 8)
        else:
            # xorshift32 (Marsaglia): deterministic, so a run's table is reproducible
            self.random ^= self.random << 13
            self.random ^= self.random >> 17
            self.random ^= self.random << 5
            way = pinned + self.random % (WAYS - pinned)
        tags[way] = h
        slot = &self.slots[WAYS * s + way]
        slot.len, slot.nrows = length, n
        if il_fits(length, n):
            target = slot.data
        else:
            at = self.ring_end
            if (at & (self.ring_bytes - 1)) + size > self.ring_bytes:  # entries do not wrap: the next lap
                at = (at | (self.ring_bytes - 1)) + 1
            self.ring_end = at + il_pad8(size)
            memcpy(slot.data, &at, sizeof(at))
            target = self.ring + (at & (self.ring_bytes - 1))
        memcpy(target, token, pad)
        memcpy(target + pad, rows, n * sizeof(int32_t))

    cdef int _reserve(self, Py_ssize_t token_length) except -1:
        """Room for ``token_length`` bytes bracketed and for its n-gram rows."""
        cdef Py_ssize_t capacity
        cdef void* grown
        if token_length + 2 <= self.capacity:
            return 0
        capacity = 2 * (token_length + 2)
        grown = realloc(self.bracketed, capacity)
        if grown == NULL:
            raise MemoryError()
        self.bracketed = <uint8_t*> grown
        grown = realloc(self.rows, capacity * self.maxn * sizeof(int32_t) + 8)
        if grown == NULL:
            raise MemoryError()
        self.rows = <int32_t*> grown
        self.capacity = capacity
        return 0

    cdef int _grow_word(self, Py_ssize_t size) except -1:
        cdef Py_ssize_t capacity = max(2 * self.word_capacity, size, 256)
        cdef uint8_t* grown = <uint8_t*> realloc(self.word, capacity)
        if grown == NULL:
            raise MemoryError()
        self.word, self.word_capacity = grown, capacity
        return 0

    cdef inline void _begin(self) noexcept nogil:
        cdef int k
        for k in range(self.dim):
            self.hidden[k] = 0.0
        self.count = 0

    cdef int _token(self, const uint8_t* token, Py_ssize_t token_length) except -1:
        """_hashed_token for a token anywhere: copied to ``word``, zero-padded, and hashed."""
        cdef uint32_t h = 2166136261u
        cdef Py_ssize_t k
        if token_length + 8 > self.word_capacity:
            self._grow_word(token_length + 8)
        memcpy(self.word, token, token_length)
        memset(self.word + token_length, 0, 8)
        for k in range(token_length):
            h = fnv_step(h, token[k])
        return self._hashed_token(self.word, token_length, h)

    cdef int _hashed_token(self, const uint8_t* token, Py_ssize_t token_length, uint32_t h) except -1:
        """Dictionary::getLine for one token whose FNV-1a hash is ``h``, zero-padded to a
        multiple of 8 bytes: its rows into ``hidden``. 1 when it is EOS (the line ends there),
        else 0. A dictionary word is always in the table, so a miss is out of vocabulary."""
        cdef uint32_t s = il_set(h, self.set_shift)
        cdef uint32_t matches = il_matches(self.tags + 16 * s, h)
        cdef il_slot* slot
        cdef const uint8_t* data
        cdef int32_t n, way, stale = -1
        cdef bint is_eos = token_length == 4 and memcmp(token, il_eos, 4) == 0
        while matches:
            way = il_ctz(matches)
            slot = &self.slots[WAYS * s + way]
            matches &= matches - 1
            if slot.len != token_length:
                continue
            data = self._slot_data(s, way, slot)
            if data == NULL:  # its bytes and rows were overwritten in the ring: take its way
                stale = way
            elif il_same_key(data, token, token_length):
                self._add_rows(<const int32_t*> (data + il_pad8(token_length)), slot.nrows)
                return is_eos
        if is_eos or (token_length >= 9 and memcmp(token, il_label_prefix, 9) == 0):
            return is_eos
        self._reserve(token_length)
        self.bracketed[0] = 60  # "<"
        memcpy(self.bracketed + 1, token, token_length)
        self.bracketed[token_length + 1] = 62  # ">"
        n = self._subwords(self.bracketed, token_length + 2, self.rows)
        self._add_rows(self.rows, n)
        self._remember(s, stale, token, token_length, h, self.rows, n)
        return is_eos

    cdef inline const uint8_t* _slot_data(self, uint32_t s, int32_t way, il_slot* slot) noexcept nogil:
        """Where a way's word and rows are: in the way, in the dictionary's arena (a pinned way),
        or in the ring (NULL once overwritten there)."""
        cdef uint64_t at
        if il_fits(slot.len, slot.nrows):
            return slot.data
        if way < <int32_t> (self.tags[16 * s + WAYS] & 0xFF):
            return self.arena + slot.arena
        memcpy(&at, slot.data, sizeof(at))
        if self.ring_end - at > self.ring_bytes:
            return NULL
        return self.ring + (at & (self.ring_bytes - 1))

    cdef bint _finish(self) noexcept nogil:
        """The mean of the rows, then the best leaf (best_node, best_score); False for none."""
        cdef float scale
        cdef int k
        if self.count == 0:
            return False
        scale = <float> (1.0 / self.count)
        for k in range(self.dim):
            self.hidden[k] *= scale
        self.have_best = False
        self._dfs(2 * self.nlabels - 2, 0.0)
        return self.have_best

    def predict(self, str line):
        """(label, probability) for one line as the binding's ``predict(line, 1, 0.0)`` gives
        them, or None when it gives none. The line must end with "\\n" as the binding's does."""
        cdef Py_ssize_t length
        cdef const uint8_t* text = <const uint8_t*> PyUnicode_AsUTF8AndSize(line, &length)
        cdef Py_ssize_t pos = 0, start, token_length
        cdef bint eos
        cdef uint8_t c
        if length == 0:
            return None
        self._begin()
        while True:
            # Dictionary::readWord
            start, token_length, eos = -1, 0, False
            while pos < length:
                c = text[pos]
                pos += 1
                if is_space(c):
                    if token_length == 0:
                        if c == 10:
                            eos = True
                            break
                        continue
                    if c == 10:
                        pos -= 1
                    break
                if token_length == 0:
                    start = pos - 1
                token_length += 1
            if not eos and token_length == 0:
                break
            if self._token(<const uint8_t*> il_eos if eos else text + start, 4 if eos else token_length):
                break
        if not self._finish():
            return None
        return self.labels[self.best_node], <double> expf(self.best_score)

    def predict_texts(self, texts, Py_ssize_t max_chars, fallback):
        """pipeline.langid's result for each text: (label without "__label__", probability
        rounded to 4 places) of ``predict(" ".join(text[:max_chars].split()) + "\\n")`` (all of
        the text for max_chars 0), or (None, None) when that line is empty or predicts nothing.

        The line is never built: the words are read from the str's code points, cut at
        max_chars, split where str.split() splits and also at "\\0" (readWord does), and
        encoded to UTF-8 one at a time; then EOS, which the line's "\\n" gives. A text that is
        not an exact str, or has a lone surrogate in its cut (which the line could not encode),
        is ``fallback(text, max_chars)``'s."""
        cdef list out = []
        cdef object text
        cdef int kind, read
        cdef void* data
        cdef Py_ssize_t length, end
        for text in texts:
            if not PyUnicode_CheckExact(text):
                out.append(fallback(text, max_chars))
                continue
            PyUnicode_READY(text)  # a no-op but for legacy (wstr) strings
            length = PyUnicode_GET_LENGTH(text)
            # text[:max_chars]'s end (all of it for 0, as _one_line reads 0)
            if max_chars == 0:
                end = length
            else:
                end = min(max_chars, length) if max_chars > 0 else max(length + max_chars, 0)
            kind, data = PyUnicode_KIND(text), PyUnicode_DATA(text)
            self._begin()
            # one loop per character width, so a Latin-1 text's has no 3- and 4-byte branches
            if kind == PyUnicode_1BYTE_KIND:
                read = _read_words(self, <const uint8_t*> data, end)
            elif kind == PyUnicode_2BYTE_KIND:
                read = _read_words(self, <const uint16_t*> data, end)
            else:
                read = _read_words(self, <const uint32_t*> data, end)
            if read == UNENCODABLE:
                out.append(fallback(text, max_chars))
                continue
            if read == WORDS:
                self._token(<const uint8_t*> il_eos, 4)
            if read != NO_WORDS and self._finish():
                out.append((self.short_labels[self.best_node],
                            round4(min(<double> expf(self.best_score), 1.0))))
            else:
                out.append((None, None))
        return out


ctypedef fused ucs_t:  # a str's code units: Py_UCS1, Py_UCS2, Py_UCS4
    uint8_t
    uint16_t
    uint32_t


cdef enum:
    # what _read_words found: no words (an empty line), words, words and a "</s>" among them
    # (getLine stops there), or a lone surrogate (the line could not be encoded)
    NO_WORDS = 0
    WORDS = 1
    WORDS_TO_EOS = 2
    UNENCODABLE = -1


cdef int _read_words(FastTextModel model, const ucs_t* chars, Py_ssize_t end) except -2:
    """The words of chars[:end] into ``model``'s line (_hashed_token each), as predict_texts
    reads them."""
    cdef Py_ssize_t i = 0, size, stop
    cdef uint32_t c  # a code point (Cython's Py_UCS4 arithmetic would go through str)
    cdef uint32_t h
    cdef uint8_t* word
    cdef int read = NO_WORDS
    while i < end:
        c = chars[i]
        if is_split_space(c):
            i += 1
            continue
        if read == NO_WORDS:
            read = WORDS  # the line is not empty ("\0" included: it is no str.split() space)
        if c == 0:
            i += 1
            continue
        # the word's UTF-8 in a local pointer (a store through model.word, a uint8_t*, could
        # alias model's fields and reload them), hashed as it is written: the FNV chain
        # overlaps the encoding instead of a second pass in _token
        size = 0
        h = 2166136261u
        word = model.word
        while True:
            if size + 12 > model.word_capacity:  # a character and the zero padding
                model._grow_word(size + 12)
                word = model.word
            if 0x20 < c < 0x80:
                # a run of printable ASCII, the common case: no spaces there, one byte each
                # (as many as fit with the padding), and chars[end] is still in the str (its
                # cut or its terminating 0), so one range check a character
                stop = min(end, i + model.word_capacity - 12 - size)
                while True:
                    h = put_byte(word, size, <uint8_t> c, h)
                    size += 1
                    i += 1
                    c = chars[i]
                    if i == stop or not (0x20 < c < 0x80):
                        break
                if i == end or c == 0 or is_split_space(c):
                    break
                continue
            if c < 0x80:
                h = put_byte(word, size, <uint8_t> c, h)
                size += 1
            elif c < 0x800:
                h = put_byte(word, size, <uint8_t> (0xC0 | (c >> 6)), h)
                h = put_byte(word, size + 1, <uint8_t> (0x80 | (c & 0x3F)), h)
                size += 2
            elif c < 0x10000:
                if 0xD800 <= c <= 0xDFFF:
                    return UNENCODABLE
                h = put_byte(word, size, <uint8_t> (0xE0 | (c >> 12)), h)
                h = put_byte(word, size + 1, <uint8_t> (0x80 | ((c >> 6) & 0x3F)), h)
                h = put_byte(word, size + 2, <uint8_t> (0x80 | (c & 0x3F)), h)
                size += 3
            else:
                h = put_byte(word, size, <uint8_t> (0xF0 | (c >> 18)), h)
                h = put_byte(word, size + 1, <uint8_t> (0x80 | ((c >> 12) & 0x3F)), h)
                h = put_byte(word, size + 2, <uint8_t> (0x80 | ((c >> 6) & 0x3F)), h)
                h = put_byte(word, size + 3, <uint8_t> (0x80 | (c & 0x3F)), h)
                size += 4
            i += 1
            if i == end:
                break
            c = chars[i]
            if c == 0 or is_split_space(c):
                break
        if read == WORDS:  # past a "</s>" word, read on only to find a surrogate
            memset(word + size, 0, 8)
            if model._hashed_token(word, size, h):
                read = WORDS_TO_EOS
    return read

def _read(stream, fmt: str):
    size = struct.calcsize(fmt)
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("truncated fastText model")
    return struct.unpack(fmt, data)


def _read_pq(stream):
    dim, nsubq, dsub, lastdsub = _read(stream, "<4i")
    centroids = np.frombuffer(stream.read(4 * dim * 256), dtype="<f4").astype(np.float32)
    return dim, nsubq, dsub, lastdsub, centroids


def _pq_decode(pq, codes: np.ndarray) -> np.ndarray:
    """Rows of centroid values for ``codes`` (rows x nsubq): ProductQuantizer::get_centroids
    for each sub-quantizer, the last one ``lastdsub`` wide."""
    dim, nsubq, dsub, lastdsub, centroids = pq
    parts = []
    for m in range(nsubq):
        width = lastdsub if m == nsubq - 1 else dsub
        table = centroids[m * 256 * dsub:m * 256 * dsub + 256 * width].reshape(256, width)
        parts.append(table[codes[:, m]])
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def _read_quant(stream):
    """QuantMatrix::load: (rows as centroid values, each row's alpha: its decoded norm or 1)."""
    qnorm, = _read(stream, "<?")
    m, n = _read(stream, "<qq")
    codesize, = _read(stream, "<i")
    codes = np.frombuffer(stream.read(codesize), dtype=np.uint8)
    pq = _read_pq(stream)
    values = _pq_decode(pq, codes.reshape(m, pq[1]))
    if values.shape != (m, n):
        raise ValueError("inconsistent quantized matrix")
    alpha = np.ones(m, dtype=np.float32)
    if qnorm:
        norm_codes = np.frombuffer(stream.read(m), dtype=np.uint8)
        alpha = _pq_decode(_read_pq(stream), norm_codes.reshape(m, 1))[:, 0].copy()
    return values, alpha


def _huffman(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """HierarchicalSoftmaxLoss::buildTree: children of each node (-1 for leaves)."""
    osz = len(counts)
    count = [int(c) for c in counts] + [int(1e15)] * (osz - 1)
    left = np.full(2 * osz - 1, -1, dtype=np.int32)
    right = np.full(2 * osz - 1, -1, dtype=np.int32)
    leaf, node = osz - 1, osz
    for i in range(osz, 2 * osz - 1):
        mini = [0, 0]
        for j in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                mini[j] = leaf
                leaf -= 1
            else:
                mini[j] = node
                node += 1
        left[i], right[i] = mini
        count[i] = count[mini[0]] + count[mini[1]]
    return left, right


def load_model(path: str, sets: int = TABLE_SETS, ring_bytes: int = RING_BYTES) -> FastTextModel:
    """A quantized supervised fastText model ready to predict. Raises ValueError for a model
    this implementation does not cover."""
    return FastTextModel(read_model(path), sets, ring_bytes)


def read_model(path: str) -> dict:
    """The parts of a quantized supervised fastText model file (FastText::loadModel)."""
    with open(path, "rb") as stream:
        magic, version = _read(stream, "<ii")
        if magic != FASTTEXT_MAGIC or version != FASTTEXT_VERSION:
            raise ValueError(f"not a fastText v{FASTTEXT_VERSION} model: {path}")
        (dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_update,
         _t) = _read(stream, "<12id")
        if model != MODEL_SUP or loss != LOSS_HS or word_ngrams > 1 or dim > MAX_DIM or bucket <= 0:
            raise ValueError(f"unsupported fastText model (model {model}, loss {loss}, wordNgrams {word_ngrams})")
        size, nwords, nlabels = _read(stream, "<iii")
        _ntokens, pruneidx_size = _read(stream, "<qq")
        entries, counts = [], []
        for _ in range(size):
            word = bytearray()
            while (c := stream.read(1)) != b"\0":
                if not c:
                    raise ValueError("truncated fastText dictionary")
                word += c
            count, entry_type = _read(stream, "<qb")
            entries.append((bytes(word), entry_type))
            if entry_type == 1:
                counts.append(count)
        pruneidx = [_read(stream, "<ii") for _ in range(max(pruneidx_size, 0))]
        quant_input, = _read(stream, "<?")
        if not quant_input or pruneidx_size <= 0:
            raise ValueError("only pruned, quantized models (.ftz) are supported")
        input_rows, input_alpha = _read_quant(stream)
        # addcode adds alpha * c for each centroid value c: decode the same products once.
        input_rows = (input_rows * input_alpha[:, None]).astype(np.float32)
        qout, = _read(stream, "<?")
        if qout:
            output_rows, output_alpha = _read_quant(stream)
        else:
            m, n = _read(stream, "<qq")
            output_rows = np.frombuffer(stream.read(4 * m * n), dtype="<f4").astype(np.float32).reshape(m, n)
            output_alpha = np.ones(m, dtype=np.float32)
    if len(counts) != nlabels or input_rows.shape[1] != dim:
        raise ValueError("inconsistent fastText model")
    left, right = _huffman(counts)
    return {
        "dim": dim, "minn": minn, "maxn": maxn, "bucket": bucket, "nwords": nwords, "nlabels": nlabels,
        "entries": entries, "pruneidx": pruneidx, "input_rows": np.ascontiguousarray(input_rows),
        "output_rows": np.ascontiguousarray(output_rows), "output_alpha": output_alpha,
        "left": left, "right": right,
    }
