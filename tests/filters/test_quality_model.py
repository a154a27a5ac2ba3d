"""fastText quality classifier: trained here on generated good / bad text, then scored.

Good text: English and Chinese prose built from templates and word lists. Bad text: navigation
boilerplate (English and Chinese), keyword spam, random tokens. Probes come from the same
generators with another seed, so they are sentences the model has not seen.
"""

from __future__ import annotations

import json
import pickle
import random
import string
from pathlib import Path

import pytest

from filters.quality_model import (
    BAD_LABEL,
    GOOD_LABEL,
    QualityModel,
    _auc,
    _floret_to_fasttext,
    normalise_text,
    train_quality_model,
)

# -- generated text --------------------------------------------------------------------------

EN_SUBJECTS = ["The old lighthouse keeper", "A young botanist", "The city council", "Our research team",
               "The village baker", "An experienced teacher", "The river authority", "A local historian",
               "The museum curator", "Several volunteers", "The orchestra", "A retired engineer"]
EN_VERBS = ["carefully restored", "described in detail", "studied for many years", "quietly rebuilt",
            "wrote a short book about", "photographed", "measured and mapped", "slowly repaired",
            "explained to visitors", "collected records of"]
EN_OBJECTS = ["the stone bridge", "the medieval library", "the coastal wetlands", "the harbour walls",
              "a collection of letters", "the migration of birds", "the town's water supply",
              "the cathedral windows", "an early printing press", "the mountain railway"]
EN_TAILS = ["after the winter floods had damaged it", "because the archives were incomplete",
            "so that future students could learn from it", "although funding remained uncertain",
            "while the neighbours watched with interest", "before the festival began in spring",
            "using methods that were new at the time", "with help from the regional university"]
EN_SECOND = ["Their work was later published in a regional journal.", "Many visitors still come to see the result.",
             "The project took almost three years to complete.", "It remains an important example for the region.",
             "Local schools now use the material in their lessons.", "Few people had expected such careful work."]

ZH_TIMES = ["去年冬天", "十九世纪末", "在一个安静的早晨", "经过多年的研究", "在春季的节日之前", "战后不久"]
ZH_SUBJECTS = ["一位年轻的植物学家", "老灯塔的守护人", "当地的历史学家", "博物馆的馆长", "一群志愿者", "这所大学的研究团队"]
ZH_VERBS = ["仔细修复了", "详细记录了", "重新整理了", "认真研究了", "向游客介绍了", "系统地测量了"]
ZH_OBJECTS = ["古老的石桥", "城市的供水系统", "海岸边的湿地", "中世纪的图书馆", "一批珍贵的书信", "山区的铁路"]
ZH_TAILS = ["这项工作后来发表在地区期刊上。", "许多学生至今仍在学习这些资料。", "这个项目花了将近三年才完成。",
            "人们对他们认真的态度印象深刻。", "它仍然是这个地区的重要例子。"]

NAV = ["Home", "About us", "Contact", "Login", "Sign up", "Privacy Policy", "Terms of Service", "Sitemap",
       "Cookie settings", "Cart (0)", "© 2024 All rights reserved", "Next »", "« Prev", "Share on Facebook",
       "Tweet", "Subscribe", "Menu", "Search", "FAQ", "Careers", "Newsletter", "Back to top"]
ZH_NAV = ["首页", "登录", "注册", "联系我们", "关于我们", "网站地图", "版权所有", "免费下载", "点击这里", "购物车",
          "隐私政策", "返回顶部", "下一页", "上一页", "客服热线", "会员中心"]
SPAM_PRODUCTS = ["shoes", "watches", "phone cases", "loans", "casino bonus", "diet pills", "sunglasses", "vpn"]
SPAM_WORDS = ["cheap", "buy", "best", "discount", "free shipping", "online", "sale", "top", "2024", "deal", "order now"]


def en_good(rng: random.Random) -> str:
    first = f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERBS)} {rng.choice(EN_OBJECTS)} {rng.choice(EN_TAILS)}."
    return first + " " + " ".join(rng.sample(EN_SECOND, rng.randint(1, 2)))


def zh_good(rng: random.Random) -> str:
    return (f"{rng.choice(ZH_TIMES)}，{rng.choice(ZH_SUBJECTS)}{rng.choice(ZH_VERBS)}{rng.choice(ZH_OBJECTS)}，"
            f"{rng.choice(ZH_TAILS)}")


def nav_bad(rng: random.Random) -> str:
    items = ZH_NAV if rng.random() < 0.35 else NAV
    return rng.choice([" | ", " · ", " » ", "  "]).join(rng.sample(items, rng.randint(4, 10)))


def spam_bad(rng: random.Random) -> str:
    product = rng.choice(SPAM_PRODUCTS)
    return " ".join(f"{rng.choice(SPAM_WORDS)} {product}" for _ in range(rng.randint(4, 12)))


def random_bad(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits

    def token() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14)))

    return " ".join(token() for _ in range(rng.randint(5, 25)))


def good_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [en_good(rng) if i % 3 else zh_good(rng) for i in range(n)]


def bad_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    makers = [nav_bad, spam_bad, random_bad]
    return [makers[i % 3](rng) for i in range(n)]


def write_lines(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(t + "\n\n" for t in texts), encoding="utf-8")  # blank lines are skipped
    return path


# -- fixtures --------------------------------------------------------------------------------

# A small bucket keeps each model a few MB; the other parameters are the defaults.
PARAMS = {"seed": 7, "threads": 1, "bucket": 20_000}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("quality-inputs")
    return write_lines(d / "good.txt", good_texts(450, 1)), write_lines(d / "bad.txt", bad_texts(450, 2))


@pytest.fixture(scope="module")
def trained(inputs, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("quality-model") / "models" / "quality.bin"  # parent made on save
    return out, train_quality_model(*inputs, out, **PARAMS)


# -- tests -----------------------------------------------------------------------------------


def test_normalise_text():
    assert normalise_text("  Hello,\n\tWORLD!  ") == "hello , world !"
    assert normalise_text("这是中文。ＦＵＬＬ") == "这 是 中 文 。 full"
    assert normalise_text("ひらがなとカタカナ") == "ひ ら が な と カ タ カ ナ"
    assert normalise_text("한국어 문장") == "한국어 문장"  # Hangul is space-delimited already
    assert normalise_text("a __label__bad b\x00c") == "a bad b c"
    assert normalise_text("abcdef", max_chars=3) == "abc"
    assert normalise_text(" \n ") == ""
    sample = "Mixed: text, 中文与English; e.g. (x)!"
    assert normalise_text(normalise_text(sample)) == normalise_text(sample)


def test_auc():
    assert _auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert _auc([0.1], [0.9]) == 0.0
    assert _auc([0.5, 0.5], [0.5]) == 0.5
    assert _auc([], [0.1]) is None


def test_training_separates_good_from_bad(trained):
    out, _ = trained
    model = QualityModel(out)
    good = [model.score(t) for t in good_texts(120, 101)]
    bad = [model.score(t) for t in bad_texts(120, 102)]
    assert _auc(good, bad) > 0.95
    assert sum(good) / len(good) - sum(bad) / len(bad) > 0.5
    # Both languages: Chinese prose against Chinese navigation.
    rng = random.Random(5)
    zh_good_scores = [model.score(zh_good(rng)) for _ in range(20)]
    zh_nav_scores = [model.score(" | ".join(rng.sample(ZH_NAV, 8))) for _ in range(20)]
    assert min(zh_good_scores) > max(zh_nav_scores)
    assert 0.0 <= min(good + bad) and max(good + bad) <= 1.0
    assert model.score("   ") == 0.0


def test_metrics_record_is_returned_and_written(trained, inputs):
    out, record = trained
    assert out.is_file() and not list(out.parent.glob("*.tmp"))
    assert json.loads(Path(f"{out}.json").read_text(encoding="utf-8")) == record
    assert record["n_good"] == record["n_bad"] == 450
    assert record["n_validation"] == 90 and record["n_train"] == 810
    assert record["accuracy"] > 0.9 and record["precision"] > 0.9 and record["recall"] > 0.9 and record["auc"] > 0.95
    assert record["labels"] == {"good": GOOD_LABEL, "bad": BAD_LABEL}
    assert record["params"]["seed"] == 7 and record["params"]["max_chars"] == 10_000
    assert record["inputs"] == {"good": str(inputs[0]), "bad": str(inputs[1])}


def test_same_seed_same_model(trained, inputs, tmp_path):
    """fastText with one thread is deterministic: same inputs and seed, same bytes and scores."""
    out, record = trained
    again = tmp_path / "again.bin"
    record2 = train_quality_model(*inputs, again, **PARAMS)
    assert again.read_bytes() == out.read_bytes()
    probes = good_texts(10, 201) + bad_texts(10, 202)
    first, second = QualityModel(out), QualityModel(again)
    assert [first.score(t) for t in probes] == [second.score(t) for t in probes]
    assert {k: v for k, v in record2.items() if k not in ("model", "train_seconds")} == {
        k: v for k, v in record.items() if k not in ("model", "train_seconds")
    }
    # Retraining over the same path replaces the model (atomically) and the per-process cache
    # notices.
    before = again.read_bytes()
    train_quality_model(*inputs, again, **{**PARAMS, "seed": 8, "epoch": 2})
    assert again.read_bytes() != before
    assert QualityModel(again)._model is not second._model


def test_saved_model_is_plain_fasttext_with_floret_scores(tmp_path):
    """The header rewrite keeps floret's predictions exactly, read by fasttext-predict."""
    import fasttext
    import floret

    rng = random.Random(3)
    train = tmp_path / "train.txt"
    lines = [f"{GOOD_LABEL} {normalise_text(en_good(rng))}\n{BAD_LABEL} {normalise_text(spam_bad(rng))}\n"
             for _ in range(100)]
    train.write_text("".join(lines), encoding="utf-8")
    model = floret.train_supervised(input=str(train), epoch=3, dim=8, wordNgrams=2, bucket=5000, seed=1,
                                    thread=1, verbose=0, mode="fasttext", hashCount=1)
    model.save_model(str(tmp_path / "floret.bin"))
    _floret_to_fasttext(tmp_path / "floret.bin", tmp_path / "fasttext.bin")
    converted = fasttext.load_model(str(tmp_path / "fasttext.bin"))
    for text in good_texts(5, 9) + bad_texts(5, 9):
        line = normalise_text(text) + "\n"
        assert sorted(converted.f.predict(line, -1, 0.0, "strict")) == sorted(model.f.predict(line, -1, 0.0, "strict"))
    with pytest.raises(ValueError):  # floret's own header is what fasttext-predict cannot read
        fasttext.load_model(str(tmp_path / "floret.bin"))


def test_block_examples(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("\n\n".join(f"{en_good(random.Random(i))}\n{en_good(random.Random(-i))}" for i in range(40)) + "\n")
    bad = write_lines(tmp_path / "bad.txt", bad_texts(40, 4))
    record = train_quality_model(good, bad, tmp_path / "m.bin", examples="block", bucket=5000, epoch=5)
    assert record["n_good"] == 40 and record["n_bad"] == 40  # bad.txt: one line per block


def test_quality_model_pickles_and_checks_label(trained):
    out, _ = trained
    model = QualityModel(out)
    clone = pickle.loads(pickle.dumps(model))
    text = good_texts(1, 300)[0]
    assert clone.score(text) == model.score(text) and clone.max_chars == 10_000
    assert QualityModel(out, label=BAD_LABEL).score(text) == pytest.approx(1 - model.score(text), abs=1e-4)
    with pytest.raises(ValueError, match="__label__hq"):
        QualityModel(out, label="__label__hq")


def test_bad_inputs(tmp_path, inputs):
    good, bad = inputs
    empty = tmp_path / "empty.txt"
    empty.write_text("\n   \n\t\n")
    out = tmp_path / "m.bin"
    with pytest.raises(FileNotFoundError, match="good examples file not found"):
        train_quality_model(tmp_path / "missing.txt", bad, out)
    with pytest.raises(FileNotFoundError, match="bad examples file not found"):
        train_quality_model(good, tmp_path / "missing.txt", out)
    with pytest.raises(ValueError, match="bad examples file .* has no examples"):
        train_quality_model(good, empty, out)
    with pytest.raises(ValueError, match="good examples file .* has no examples"):
        train_quality_model(empty, bad, out)
    with pytest.raises(ValueError, match="validation_fraction"):
        train_quality_model(good, bad, out, validation_fraction=1.0)
    assert not out.exists()
    with pytest.raises(FileNotFoundError, match="quality model not found"):
        QualityModel(tmp_path / "nope.bin")
    with pytest.raises(ValueError, match="not a fastText supervised model"):
        QualityModel(empty)
