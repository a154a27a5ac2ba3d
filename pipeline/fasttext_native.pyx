# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""fastText supervised prediction (k=1) for quantized models such as lid.176.ftz, in C.

The same computation as fasttext-predict's ``predict(line, 1, 0.0)`` (fastText 0.9.2:
Dictionary::getLine, computeSubwords, QuantMatrix rows, hierarchical-softmax dfs), operation
for operation in the same float types, so labels and probabilities are bit-identical
(tests/pipeline/test_fasttext_native.py compares them with the binding). It is about 6x cheaper
because it does without what dominates the binding's profile: an unordered_map lookup per
character n-gram (the pruned bucket index is a flat array here), a std::string per n-gram and
token, and the per-call stream set-up. Quantized rows are decoded once at load (alpha * code
centroid, the very products fastText adds), so the hidden vector sums the same floats.

``predict_texts`` gives pipeline.langid's results for whole texts: it reads the words of each
str where langid would build the line (" ".join(text[:max_chars].split()) + "\n") and hand it
to ``predict``, with the same rows added in the same order, so the same floats. An
out-of-vocabulary word's n-gram rows are cached per model (bounded, emptied when full): a
page's paragraphs repeat its document's words, and pages share many, so most words are
looked up instead of hashed n-gram by n-gram; the same rows in the same order again.

Only what lid.176 uses is supported (supervised, hierarchical softmax, quantized input,
wordNgrams 1); ``load_model`` refuses anything else and the caller keeps the binding.
"""

from cpython.unicode cimport (PyUnicode_CheckExact, PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND,
                              PyUnicode_READ)
from libc.math cimport expf, log, nearbyint
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy

import struct

import numpy as np

cdef extern from *:
    """
    /* a % d for 32-bit a and d > 0 without a division (Lemire, Kaser, Kurz 2019, "Faster
       remainder by direct computation"): exact for every 32-bit a once m = 2^64 / d + 1. */
    static inline uint32_t il_fastmod(uint32_t a, uint64_t m, uint32_t d) {
        uint64_t low = m * a;
        return (uint32_t)(((__uint128_t) low * d) >> 64);
    }
    /* "</s>" and the label prefix for the per-token compares, where a Python global costs a lookup */
    static const char il_eos[] = "</s>";
    static const char il_label_prefix[] = "__label__";
    """
    uint32_t il_fastmod(uint32_t a, uint64_t m, uint32_t d) nogil
    const char* il_eos
    const char* il_label_prefix

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object unicode, Py_ssize_t *size) except NULL
    int PyUnicode_READY(object unicode) except -1

cdef enum:
    MAX_DIM = 64
    # the out-of-vocabulary word cache: words up to CACHE_WORD bytes, CACHE_ENTRIES of them in
    # a table of twice as many slots, their bytes and rows in arenas; emptied when one is full
    CACHE_WORD = 48
    CACHE_ENTRIES = 1 << 15
    CACHE_BYTES = 1 << 19
    CACHE_ROWS = 1 << 17

FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSION = 12
LOSS_HS = 1
MODEL_SUP = 3
EOS = b"</s>"
OOV_CACHE_ENTRIES = CACHE_ENTRIES


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


cdef class FastTextModel:
    cdef:
        int dim, minn, maxn, nwords, size
        uint32_t bucket
        uint64_t bucket_m  # il_fastmod's multiplier for bucket
        float log_threshold
        # words and labels: bytes, offsets, lengths, hashes, types; open-addressing table
        bytes words_buf
        const uint8_t* words
        int64_t[::1] word_start
        int32_t[::1] word_len
        uint32_t[::1] word_hash
        uint8_t[::1] word_type
        int32_t[::1] table
        uint32_t mask
        # subword rows of each in-vocabulary word (CSR)
        int64_t[::1] sub_start
        int32_t[::1] sub_rows
        int32_t[::1] pruned  # bucket -> pruned index, or -1
        # A bit per bucket, set where ``pruned`` has an index: lid.176 keeps 2% of its 2M
        # buckets, and this 250 KB stays in cache where the 8 MB ``pruned`` does not.
        uint64_t[::1] kept
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
        # scratch: a token bracketed "<token>" and its n-gram rows; predict_texts' word in UTF-8
        uint8_t* bracketed
        int32_t* rows
        Py_ssize_t capacity
        uint8_t* word
        Py_ssize_t word_capacity
        # out-of-vocabulary words -> their n-gram rows (the same rows in the same order)
        int32_t* cache_slots
        uint32_t* cache_hash
        int32_t* cache_len
        int32_t* cache_key  # offset in cache_bytes
        int32_t* cache_start  # offset in cache_rows; an entry's rows end where the next's start
        uint8_t* cache_bytes
        int32_t* cache_rows
        int32_t cache_count, cache_nbytes, cache_nrows
        # dfs state
        float best_score
        int32_t best_node
        bint have_best

    def __init__(self, dict parts):
        self.dim = parts["dim"]
        self.minn, self.maxn, self.bucket = parts["minn"], parts["maxn"], parts["bucket"]
        self.bucket_m = (0xFFFFFFFFFFFFFFFF // self.bucket + 1) & 0xFFFFFFFFFFFFFFFF
        self.nwords, self.size, self.nlabels = parts["nwords"], len(parts["entries"]), parts["nlabels"]
        self.log_threshold = <float> log(<double> (<float> 0.0) + 1e-5)
        entries = parts["entries"]
        self.words_buf = b"".join(word for word, _type in entries)
        self.words = self.words_buf
        lengths = np.array([len(word) for word, _type in entries], dtype=np.int32)
        self.word_len = lengths
        self.word_start = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)[:-1]]).astype(np.int64)
        self.word_type = np.array([t for _word, t in entries], dtype=np.uint8)
        self.word_hash = np.array([self._hash(word) for word, _type in entries], dtype=np.uint32)
        self.labels = [word.decode("utf-8", "replace") for word, t in entries if t == 1]
        self.short_labels = [label.removeprefix("__label__") for label in self.labels]
        size = 1
        while size < 2 * max(self.size, 1):
            size *= 2
        self.mask = size - 1
        self.table = np.full(size, -1, dtype=np.int32)
        cdef int32_t i
        cdef uint32_t slot
        for i in range(self.size):
            slot = self.word_hash[i] & self.mask
            while self.table[slot] != -1:
                slot = (slot + 1) & self.mask
            self.table[slot] = i
        pruned = np.full(self.bucket, -1, dtype=np.int32)
        for bucket, index in parts["pruneidx"]:
            if 0 <= bucket < self.bucket:
                pruned[bucket] = index
        self.pruned = pruned
        kept = np.zeros((self.bucket + 63) // 64, dtype=np.uint64)
        buckets = np.flatnonzero(pruned >= 0).astype(np.uint64)
        np.bitwise_or.at(kept, buckets >> np.uint64(6), np.left_shift(np.uint64(1), buckets & np.uint64(63)))
        self.kept = kept
        self.input_rows = parts["input_rows"]
        self.output_rows = parts["output_rows"]
        self.output_alpha = parts["output_alpha"]
        self.left, self.right = parts["left"], parts["right"]
        # each word's subword rows: the word itself, then its character n-grams (initNgrams)
        starts, rows = [0], []
        cdef int32_t[::1] scratch
        cdef int n
        for i in range(self.size):
            rows.append(i)
            word = entries[i][0]
            if word != EOS:
                scratch = np.empty(4 * (len(word) + 2) * max(self.maxn, 1) + 8, dtype=np.int32)
                bracketed = b"<" + word + b">"
                n = self._subwords(bracketed, len(bracketed), &scratch[0])
                rows.extend(scratch[:n])
            starts.append(len(rows))
        self.sub_start = np.array(starts, dtype=np.int64)
        self.sub_rows = np.array(rows, dtype=np.int32)

    cdef uint32_t _hash(self, bytes word):
        cdef uint32_t h = 2166136261u
        cdef uint8_t c
        for c in word:
            h = fnv_step(h, c)
        return h

    cdef int _subwords(self, const uint8_t* word, Py_ssize_t length, int32_t* out) noexcept nogil:
        """Dictionary::computeSubwords + pushHash: the rows of ``word``'s character n-grams."""
        cdef Py_ssize_t i, j
        cdef int n, count = 0
        cdef uint32_t h, b
        for i in range(length):
            if (word[i] & 0xC0) == 0x80:
                continue
            h = 2166136261u
            j = i
            n = 1
            while j < length and n <= self.maxn:
                h = fnv_step(h, word[j])
                j += 1
                while j < length and (word[j] & 0xC0) == 0x80:
                    h = fnv_step(h, word[j])
                    j += 1
                if n >= self.minn and not (n == 1 and (i == 0 or j == length)):
                    b = il_fastmod(h, self.bucket_m, self.bucket)  # h % bucket
                    if (self.kept[b >> 6] >> (b & 63)) & 1:
                        out[count] = self.nwords + self.pruned[b]
                        count += 1
                n += 1
        return count

    cdef int32_t _find(self, const uint8_t* token, Py_ssize_t length, uint32_t h) noexcept nogil:
        cdef uint32_t slot = h & self.mask
        cdef int32_t entry
        while True:
            entry = self.table[slot]
            if entry == -1:
                return -1
            if (self.word_hash[entry] == h and self.word_len[entry] == length
                    and memcmp(self.words + self.word_start[entry], token, length) == 0):
                return entry
            slot = (slot + 1) & self.mask

    cdef inline void _add_row(self, int32_t row) noexcept nogil:
        cdef int d
        for d in range(self.dim):
            self.hidden[d] += self.input_rows[row, d]

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

    def __cinit__(self):
        self.cache_slots = <int32_t*> malloc(2 * CACHE_ENTRIES * sizeof(int32_t))
        self.cache_hash = <uint32_t*> malloc(CACHE_ENTRIES * sizeof(uint32_t))
        self.cache_len = <int32_t*> malloc(CACHE_ENTRIES * sizeof(int32_t))
        self.cache_key = <int32_t*> malloc(CACHE_ENTRIES * sizeof(int32_t))
        self.cache_start = <int32_t*> malloc((CACHE_ENTRIES + 1) * sizeof(int32_t))
        self.cache_bytes = <uint8_t*> malloc(CACHE_BYTES)
        self.cache_rows = <int32_t*> malloc(CACHE_ROWS * sizeof(int32_t))
        if (self.cache_slots == NULL or self.cache_hash == NULL or self.cache_len == NULL or self.cache_key == NULL
                or self.cache_start == NULL or self.cache_bytes == NULL or self.cache_rows == NULL):
            raise MemoryError()
        self._clear_cache()

    def __dealloc__(self):
        free(self.bracketed)
        free(self.rows)
        free(self.word)
        free(self.cache_slots)
        free(self.cache_hash)
        free(self.cache_len)
        free(self.cache_key)
        free(self.cache_start)
        free(self.cache_bytes)
        free(self.cache_rows)

    def clear_cache(self) -> None:
        """Forget the cached out-of-vocabulary words (for measurements and tests)."""
        self._clear_cache()

    cdef void _clear_cache(self) noexcept nogil:
        cdef int32_t i
        for i in range(2 * CACHE_ENTRIES):
            self.cache_slots[i] = -1
        self.cache_count = self.cache_nbytes = self.cache_nrows = 0
        self.cache_start[0] = 0

    cdef inline int32_t _cache_slot(self, const uint8_t* token, Py_ssize_t length, uint32_t h) noexcept nogil:
        """The slot of ``token`` in cache_slots, or of the free slot where it would go."""
        cdef uint32_t slot = h & (2 * CACHE_ENTRIES - 1)
        cdef int32_t entry
        while True:
            entry = self.cache_slots[slot]
            if entry == -1 or (self.cache_hash[entry] == h and self.cache_len[entry] == length
                               and memcmp(self.cache_bytes + self.cache_key[entry], token, length) == 0):
                return slot
            slot = (slot + 1) & (2 * CACHE_ENTRIES - 1)

    cdef void _cache_add(self, int32_t slot, const uint8_t* token, Py_ssize_t length, uint32_t h,
                         const int32_t* rows, int32_t n) noexcept nogil:
        cdef int32_t entry
        if (self.cache_count == CACHE_ENTRIES or self.cache_nbytes + length > CACHE_BYTES
                or self.cache_nrows + n > CACHE_ROWS):
            self._clear_cache()
            slot = self._cache_slot(token, length, h)
        entry = self.cache_count
        self.cache_slots[slot] = entry
        self.cache_hash[entry], self.cache_len[entry], self.cache_key[entry] = h, length, self.cache_nbytes
        memcpy(self.cache_bytes + self.cache_nbytes, token, length)
        memcpy(self.cache_rows + self.cache_nrows, rows, n * sizeof(int32_t))
        self.cache_nbytes += length
        self.cache_nrows += n
        self.cache_count += 1
        self.cache_start[self.cache_count] = self.cache_nrows

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
        cdef uint32_t h = 2166136261u
        cdef Py_ssize_t k
        for k in range(token_length):
            h = fnv_step(h, token[k])
        return self._hashed_token(token, token_length, h)

    cdef int _hashed_token(self, const uint8_t* token, Py_ssize_t token_length, uint32_t h) except -1:
        """Dictionary::getLine for one token whose FNV-1a hash is ``h``: its rows into
        ``hidden``. 1 when it is EOS (the line ends there), else 0."""
        cdef int32_t entry, n, t, slot
        cdef int64_t s
        cdef bint is_eos = token_length == 4 and memcmp(token, il_eos, 4) == 0
        entry = self._find(token, token_length, h)
        if entry >= 0:
            if self.word_type[entry] == 0:
                for s in range(self.sub_start[entry], self.sub_start[entry + 1]):
                    self._add_row(self.sub_rows[s])
                    self.count += 1
        elif not is_eos and not (token_length >= 9 and memcmp(token, il_label_prefix, 9) == 0):
            slot = -1
            if token_length <= CACHE_WORD:
                slot = self._cache_slot(token, token_length, h)
                entry = self.cache_slots[slot]
                if entry != -1:
                    for t in range(self.cache_start[entry], self.cache_start[entry + 1]):
                        self._add_row(self.cache_rows[t])
                    self.count += self.cache_start[entry + 1] - self.cache_start[entry]
                    return is_eos
            self._reserve(token_length)
            self.bracketed[0] = 60  # "<"
            memcpy(self.bracketed + 1, token, token_length)
            self.bracketed[token_length + 1] = 62  # ">"
            n = self._subwords(self.bracketed, token_length + 2, self.rows)
            for t in range(n):
                self._add_row(self.rows[t])
            self.count += n
            if slot != -1:
                self._cache_add(slot, token, token_length, h, self.rows, n)
        return is_eos

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
        cdef int kind
        cdef void* data
        cdef Py_ssize_t length, end, i, size
        cdef uint32_t c  # a code point (Cython's Py_UCS4 arithmetic would go through str)
        cdef uint32_t h
        cdef uint8_t* word
        cdef bint words, ended, encodable
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
            words = ended = False  # ended: a "</s>" word ended the line (getLine stops there)
            encodable = True
            i = 0
            while i < end:
                c = <uint32_t> PyUnicode_READ(kind, data, i)
                if is_split_space(c):
                    i += 1
                    continue
                words = True  # the line is not empty ("\0" included: it is no str.split() space)
                if c == 0:
                    i += 1
                    continue
                # the word's UTF-8 in a local pointer (a store through self.word, a uint8_t*,
                # could alias self's fields and reload them), hashed as it is written: the FNV
                # chain overlaps the encoding instead of a second pass in _token
                size = 0
                h = 2166136261u
                word = self.word
                while True:
                    if size + 4 > self.word_capacity:
                        self._grow_word(size + 4)
                        word = self.word
                    if c < 0x80:
                        h = put_byte(word, size, <uint8_t> c, h)
                        size += 1
                    elif c < 0x800:
                        h = put_byte(word, size, <uint8_t> (0xC0 | (c >> 6)), h)
                        h = put_byte(word, size + 1, <uint8_t> (0x80 | (c & 0x3F)), h)
                        size += 2
                    elif c < 0x10000:
                        if 0xD800 <= c <= 0xDFFF:
                            encodable = False
                            break
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
                    c = <uint32_t> PyUnicode_READ(kind, data, i)
                    if c == 0 or is_split_space(c):
                        break
                if not encodable:
                    break
                if not ended:  # past a "</s>" word, read on only to find a surrogate
                    ended = self._hashed_token(self.word, size, h)
            if not encodable:
                out.append(fallback(text, max_chars))
                continue
            if words and not ended:
                self._token(<const uint8_t*> il_eos, 4)
            if words and self._finish():
                out.append((self.short_labels[self.best_node],
                            round4(min(<double> expf(self.best_score), 1.0))))
            else:
                out.append((None, None))
        return out


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


def load_model(path: str) -> FastTextModel:
    """A quantized supervised fastText model ready to predict. Raises ValueError for a model
    this implementation does not cover."""
    return FastTextModel(read_model(path))


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
