"""C4 rules (Raffel et al. 2020): lorem ipsum and "{" drop a page; paragraphs that mention
javascript or are cookie / terms / privacy notices are removed; optional minimum number of
sentences. English and Chinese notice phrases. Added to C4's list: soft 404s, short pages
saying the page does not exist (crawls are full of them, served with status 200)."""

from __future__ import annotations

from filters.base import DocumentFilter, Verdict, register
from filters.settings import SelectConfig
from filters.text import PhraseSet, TextView, count_sentence_ends
from schemas import Document, TextNode

POLICY = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
    "隐私政策", "隐私权政策", "使用条款", "服务条款", "cookie政策", "使用cookie", "隱私政策", "隱私權政策",
    "使用條款", "服務條款", "使用 cookie",
)

ERROR_PAGE = (
    "page not found", "404 not found", "page you requested could not be found", "page cannot be found",
    "page you are looking for", "页面不存在", "页面已经不存在", "页面已不存在", "页面未找到", "找不到页面",
    "访问的页面不存在", "頁面不存在", "找不到網頁",
)
ERROR_PAGE_MAX_WORDS = 300  # longer documents may mention "page not found" in passing

# Every phrase tag looks for, found in one pass over the lower-cased text.
_PHRASES = PhraseSet(("javascript", "lorem ipsum", "{", *POLICY, *ERROR_PAGE))
_FIRST_POLICY = 3
_FIRST_ERROR = _FIRST_POLICY + len(POLICY)


@register
class C4Filter(DocumentFilter):
    name = "c4@1"

    def tag(self, doc: Document, view: TextView) -> None:
        if not view.paragraphs:
            return
        found = _PHRASES.found(view.text)
        # A phrase in a paragraph is in the whole lower-cased text too, so paragraphs are
        # searched only for the phrases the text holds: most pages need no paragraph search.
        javascript = found[0]
        policy_phrases = [phrase for phrase, f in zip(POLICY, found[_FIRST_POLICY:_FIRST_ERROR]) if f]
        js = policy = 0
        if javascript or policy_phrases:
            for p in view.paragraphs:
                lower = p.text.lower()
                if javascript and "javascript" in lower:
                    p.node.signals["c4.javascript"] = 1.0
                    js += 1
                if any(phrase in lower for phrase in policy_phrases):
                    p.node.signals["c4.policy"] = 1.0
                    policy += 1
        doc.signals.update({
            "c4.lorem_ipsum": float(found[1]),
            "c4.curly_bracket": float(found[2]),
            "c4.javascript_paragraphs": float(js),
            "c4.policy_paragraphs": float(policy),
            # One pass over the whole text: a sentence end never spans two paragraphs, and
            # the "\n\n" after one counts as the end of the paragraph it closes.
            "c4.sentences": float(count_sentence_ends(view.text)),
            "c4.error_page": float(view.n_words <= ERROR_PAGE_MAX_WORDS and any(found[_FIRST_ERROR:])),
        })

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        r = select.rules(doc.language)
        if r.lorem_ipsum and doc.signals.get("c4.lorem_ipsum"):
            return Verdict(self.name, "lorem_ipsum", "c4.lorem_ipsum", 1.0, "present")
        if r.curly_bracket and doc.signals.get("c4.curly_bracket"):
            return Verdict(self.name, "curly_bracket", "c4.curly_bracket", 1.0, "present")
        if r.error_pages and doc.signals.get("c4.error_page"):
            return Verdict(self.name, "error_page", "c4.error_page", 1.0, "present")
        return self.below(doc, "c4.sentences", r.min_sentences, "min_sentences")

    def paragraphs(self, doc: Document, select: SelectConfig) -> dict[int, Verdict]:
        r = select.rules(doc.language)
        out: dict[int, Verdict] = {}
        for i, node in enumerate(doc.nodes):
            if not isinstance(node, TextNode):
                continue
            if r.javascript_lines and node.signals.get("c4.javascript"):
                out[i] = Verdict(self.name, "javascript", "c4.javascript", 1.0, "present")
            elif r.policy_lines and node.signals.get("c4.policy"):
                out[i] = Verdict(self.name, "policy", "c4.policy", 1.0, "present")
        return out
