"""blocklist@1: UT1-style folders and plain files of domains and URLs."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from filters.base import Verdict
from filters.blocklist import BlockList, BlocklistFilter, load_blocklist
from filters.settings import FiltersConfig, SelectConfig
from schemas import Document
from tests.filters import textdocs

NAME = "blocklist@1"


@pytest.fixture
def ut1(tmp_path: Path) -> Path:
    """A UT1 blacklist root: adult/{domains,urls}, gambling/{domains,urls}, and files to ignore."""
    root = tmp_path / "blacklists"
    (root / "adult").mkdir(parents=True)
    (root / "gambling").mkdir()
    (root / "adult" / "domains").write_text("# adult domains\n\nexample-porn.test\nwww.nsfw-pics.test\n"
                                            "Upper-Case.test.\nshared.test\n", encoding="utf-8")
    (root / "adult" / "urls").write_text("freehost.test/~alice\nhttp://www.blog.test/Adult/\n", encoding="utf-8")
    (root / "gambling" / "domains").write_text("casino.test\ncom\nshared.test\n", encoding="utf-8")
    (root / "gambling" / "urls").write_text("portal.test/casino\n", encoding="utf-8")
    (root / "adult" / "expressions").write_text("(porn|sex)\n", encoding="utf-8")  # not a list we read
    (root / "README").write_text("UT1 blacklists\n", encoding="utf-8")
    return root


def blocklist(*paths: Path, categories: tuple[str, ...] = ()) -> BlockList:
    return load_blocklist(tuple(map(str, paths)), categories)


# -- matching ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("https://example-porn.test/", ["adult"]),
    ("https://example-porn.test", ["adult"]),
    ("http://a.b.example-porn.test/page?x=1", ["adult"]),  # subdomains of a listed domain
    ("https://www.example-porn.test/", ["adult"]),  # www. stripped from the URL
    ("https://nsfw-pics.test/x", ["adult"]),  # www. stripped from the entry
    ("https://EXAMPLE-PORN.TEST./", ["adult"]),  # case and the trailing dot of a FQDN
    ("https://upper-case.test/", ["adult"]),  # entries are lower-cased and lose their trailing dot
    ("http://user:pw@casino.test:8080/play", ["gambling"]),  # credentials and port ignored
    ("https://shared.test/", ["adult", "gambling"]),  # listed in two categories
    ("https://notexample-porn.test/", []),  # a suffix of the name, not a parent domain
    ("https://example-porn.test.evil.test/", []),  # the listed name inside another host
    ("https://casino.test.example/", []),
    ("https://example.com/", []),  # the bare TLD "com" on the list never matches
])
def test_domain_entries(ut1, url, expected):
    assert blocklist(ut1).match(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("http://freehost.test/~alice", ["adult"]),
    ("http://freehost.test/~alice/", ["adult"]),
    ("http://freehost.test/~alice/photos/1.html", ["adult"]),  # the path and below
    ("http://www.freehost.test/~alice", ["adult"]),
    ("http://freehost.test/~ALICE", ["adult"]),  # paths compare lower-cased
    ("http://freehost.test/~alicesmith", []),  # prefix only at a segment boundary
    ("http://freehost.test/~bob", []),
    ("http://freehost.test/", []),  # the host itself is not listed
    ("http://freehost.test/home/~alice", []),  # the path must start with the entry's
    ("http://blog.test/adult/post", ["adult"]),  # the entry's scheme, www. and slash are dropped
    ("http://blog.test/adulting", []),
    ("http://m.freehost.test/~alice", []),  # a URL entry is for its host only
    ("https://portal.test/casino", ["gambling"]),
    ("https://portal.test/casino/poker?x=1", ["gambling"]),
    ("https://portal.test/casinoroyale", []),
    ("https://portal.test/news/casino", []),
])
def test_url_entries(ut1, url, expected):
    assert blocklist(ut1).match(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("http://[::1", []),  # urlsplit raises ValueError
    ("not a url", []),
    ("", []),
    ("http://", []),
    ("mailto:someone@casino.test", []),  # no host part
    ("http://casino.test:notaport/", ["gambling"]),  # a bad port does not hide the host
])
def test_bad_urls_do_not_raise(ut1, url, expected):
    assert blocklist(ut1).match(url) == expected


def test_categories_select_ut1_folders(ut1):
    only = blocklist(ut1, categories=("gambling",))
    assert only.match("https://casino.test/") == ["gambling"]
    assert only.match("https://example-porn.test/") == []
    assert only.match("http://freehost.test/~alice") == []
    assert only.match("https://shared.test/") == ["gambling"]


def test_one_category_folder_can_be_given_directly(ut1):
    adult = blocklist(ut1 / "adult")
    assert adult.match("https://example-porn.test/") == ["adult"]
    assert adult.match("https://casino.test/") == []


def test_plain_file_category_is_its_stem(tmp_path):
    path = tmp_path / "mylist.txt"
    path.write_text("spam.test\nhttps://www.forum.test/threads/\n", encoding="utf-8")
    bl = blocklist(path)
    assert bl.match("https://sub.spam.test/x") == ["mylist"]
    assert bl.match("https://forum.test/threads/42") == ["mylist"]
    assert bl.match("https://forum.test/about") == []
    assert blocklist(path, categories=("other",)).match("https://spam.test/") == []


def test_several_paths_combine(ut1, tmp_path):
    extra = tmp_path / "malware.txt"
    extra.write_text("casino.test\n", encoding="utf-8")
    assert blocklist(ut1, extra).match("https://casino.test/") == ["gambling", "malware"]


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        BlockList().add_path(tmp_path / "nope", set())


def test_undecodable_bytes_do_not_break_loading(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_bytes(b"\xff\xfe bad line\ncasino.test\n")
    assert blocklist(path).match("https://casino.test/") == ["odd"]


# -- the filter ---------------------------------------------------------------------------------------

def make_doc(url: str, language: str = "en") -> Document:
    return textdocs.make_doc("Some text here.", language=language, url=url)


tag = partial(textdocs.tag_with, NAME)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_listed_url_is_dropped_and_a_clean_one_kept(ut1, language):
    config = FiltersConfig(blocklist=[str(ut1)])
    f = BlocklistFilter(config)
    listed = make_doc("https://www.example-porn.test/video", language)
    assert tag(listed, config) == {"blocklist.adult": 1.0}
    assert f.select(listed, SelectConfig()) == Verdict(NAME, "adult", "blocklist.adult", 1.0, "listed")
    clean = make_doc("https://example.org/news", language)
    assert tag(clean, config) == {}
    assert f.select(clean, SelectConfig()) is None


def test_first_category_in_name_order_is_the_rule(ut1):
    config = FiltersConfig(blocklist=[str(ut1)])
    doc = make_doc("https://shared.test/")
    assert tag(doc, config) == {"blocklist.adult": 1.0, "blocklist.gambling": 1.0}
    assert BlocklistFilter(config).select(doc, SelectConfig()).rule == "adult"


def test_categories_setting_limits_what_is_tagged(ut1):
    config = FiltersConfig(blocklist=[str(ut1)], blocklist_categories=["gambling"])
    assert tag(make_doc("https://example-porn.test/"), config) == {}
    assert tag(make_doc("https://casino.test/"), config) == {"blocklist.gambling": 1.0}


def test_select_blocklist_false_keeps_listed_documents(ut1):
    config = FiltersConfig(blocklist=[str(ut1)])
    doc = make_doc("https://casino.test/")
    tag(doc, config)
    assert BlocklistFilter(config).select(doc, SelectConfig(blocklist=False)) is None


def test_no_list_configured_tags_nothing():
    doc = make_doc("https://casino.test/")
    assert tag(doc, FiltersConfig()) == {}
    assert BlocklistFilter(FiltersConfig()).select(doc, SelectConfig()) is None


def test_setup_fails_on_a_missing_list(tmp_path):
    with pytest.raises(FileNotFoundError):
        BlocklistFilter(FiltersConfig(blocklist=[str(tmp_path / "missing")])).setup()


def test_zero_signal_does_not_drop():
    doc = make_doc("https://x.test/")
    doc.signals["blocklist.adult"] = 0.0
    assert BlocklistFilter(FiltersConfig()).select(doc, SelectConfig()) is None
