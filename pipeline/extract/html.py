"""HTML → interleaved document: the page's main text as blocks, with its images kept in place.

One C parse (lexbor via selectolax), junk tags left out, then a single walk of the DOM that
skips boilerplate subtrees (by tag, role, class/id words, hidden state) and cuts the
rest into paragraph-level blocks and image nodes, each remembering its ancestor elements.
The main container is the element holding most of the page's "good" text (long, link-poor
blocks), preferring a semantic one (<article>, <main>, articleBody, "entry-content", ...);
its blocks, minus link-dense ones, are the document. A page whose repeated image items (product
grid, gallery) outweigh its text is a listing: the container is the one holding the items, whose
images are kept and whose short texts (prices, buttons) are not. A page without any good text is
an index: its dominant list of items is kept. Copyright lines are never text. Lengths count
characters, so CJK text (no spaces) is measured like any other.

The walk runs once per DOM node, so this module is written in Cython's pure-Python mode:
setup.py compiles it when a C compiler is there (the walker and its blocks become C classes,
about 20% off extraction), and the same source runs as plain Python otherwise, with the same
output (tests/pipeline/extract/test_html_compiled.py). ``COMPILED`` says which one runs.
Compiled, the walk itself runs in C over lexbor's structs (pipeline/extract/dom_native.pyx)
where that was checked against the installed selectolax; ``NATIVE_WALK`` says whether it does,
and ``_python_walk`` is the reference it must agree with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

try:
    from pipeline.extract import dom_native
except ImportError:  # not built (no C compiler): the walk reads selectolax's objects
    dom_native = None

try:
    import cython
except ImportError:  # running uncompiled without Cython installed
    from pipeline.cython_shim import cython

from pipeline.extract.boilerplate import (
    BOILERPLATE_TAGS,
    JUNK_CONTAINER_TAGS,
    JUNK_TAGS,
    is_boilerplate_role,
    is_hidden,
    is_legal_notice,
    name_signals,
)
from pipeline.extract.dates import find_date
from pipeline.extract.images import has_meaningful_alt, image_node
from schemas.document import BlockKind, ImageNode, TextNode

HEADING = BlockKind.HEADING.value
PARAGRAPH = BlockKind.PARAGRAPH.value
LIST = BlockKind.LIST.value
TABLE = BlockKind.TABLE.value
CAPTION = BlockKind.CAPTION.value
QUOTE = BlockKind.QUOTE.value
CODE = BlockKind.CODE.value
IMAGE = "image"

# A block of at least this many characters, with few links, counts as main-text evidence.
MIN_GOOD_CHARS = 40
# Link text share above which a block is navigation, not text.
MAX_GOOD_LINK_DENSITY = 0.3
MAX_KEPT_LINK_DENSITY = 0.5
# A semantic container is taken when it holds this share of the good text.
SEMANTIC_SHARE = 0.5
# Otherwise the deepest element holding this share of the good text is the container.
CONTAINER_SHARE = 0.7
# A boilerplate-named element holding more than this share of the page text is a wrapper
# (e.g. <form id="aspnetForm"> around the whole page, class="has-sidebar"): walk into it.
WRAPPER_TEXT_SHARE = 0.6

# A listing (product grid, gallery, recipe cards) is at least this many sibling items of the
# same tag and class, each holding a content image: its images are content even though each
# item's own text is short or all links.
MIN_GRID_ITEMS = 3
# An item shows one picture (two with a hover swap); an element holding more is a section.
MAX_ITEM_IMAGES = 2
# Alt characters an image counts for when weighing a listing against the page's text.
MAX_ALT_WEIGHT = 100
# Tags that can be a listing's item.
ITEM_TAGS: frozenset[str] = frozenset({"li", "div", "article", "section", "figure", "td", "dd"})

# A page without a single paragraph of text is an index: its content, if any, is its main list
# of items (headlines), kept though it is all links. A main list has this many items...
MIN_INDEX_ITEMS = 5
# ... of this many characters on average (not a pager of numbers or a one-word menu) ...
MIN_INDEX_ITEM_CHARS = 8
# ... and holds this share of the page's text.
INDEX_TEXT_SHARE = 0.4

BLOCK_TAGS: frozenset[str] = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "td", "th", "thead", "tbody",
        "tfoot", "caption", "blockquote", "pre", "figure", "figcaption", "address", "hr",
        "center", "details", "summary", "body", "html", "fieldset", "legend", "aside", "nav",
        "footer", "form",
    }
)  # fmt: skip
KIND_OF_TAG: dict[str, str] = {
    "h1": HEADING, "h2": HEADING, "h3": HEADING, "h4": HEADING, "h5": HEADING, "h6": HEADING,
    "li": LIST, "dt": LIST, "dd": LIST,
    "figcaption": CAPTION, "blockquote": QUOTE, "pre": CODE,
}  # fmt: skip
SEMANTIC_TAGS: frozenset[str] = frozenset({"article", "main"})
# Elements that can be the main-content container (not a paragraph or list item itself).
CONTAINER_TAGS: frozenset[str] = frozenset(
    {"div", "section", "article", "main", "td", "body", "form", "center", "blockquote", "header"}
)
# Their class words describe the page or post (WordPress: "tag-sponsor"), not a page part.
NEVER_BOILERPLATE_TAGS: frozenset[str] = frozenset({"html", "body", "article", "main"})
# Elements inside a table cell that show the table lays out a page rather than holding data.
LAYOUT_TABLE_TAGS: tuple[str, ...] = (
    "p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "blockquote", "article", "section"
)
LAYOUT_TABLE_SELECTOR = ", ".join(LAYOUT_TABLE_TAGS)
# A <figure> holding one of these is an image's figure, its <figcaption> the image's caption.
FIGURE_MEDIA_TAGS: tuple[str, ...] = ("img", "picture", "source")
CELL_SEPARATOR = " | "
CELL_TAGS: frozenset[str] = frozenset({"td", "th"})
TABLE_PART_TAGS: frozenset[str] = CELL_TAGS | {"tr"}
# Tags is_skipped can skip even when they carry no attribute.
SKIP_CHECKED_TAGS: frozenset[str] = BOILERPLATE_TAGS | {"header", "figcaption"}
# Tags with state of their own beyond being a block (see open_structure).
STRUCTURE_TAGS: frozenset[str] = SEMANTIC_TAGS.union(
    KIND_OF_TAG, ("pre", "table", "figure", "tr", "td", "th")
)
# Tags the walk acts on. Any other element without attributes (<span>, <b>, <font>) changes
# nothing, so the walk goes through it without a look.
ACTIVE_TAGS: frozenset[str] = BLOCK_TAGS.union(STRUCTURE_TAGS, SKIP_CHECKED_TAGS, ("a",))

# Exit actions recorded when entering an element (bit flags, undone when leaving it).
_BLOCK = 1
_ANCESTOR = 2
_KIND = 4
_LINK = 8
_PRE = 16
_ARTICLE = 32
_TABLE = 64
_FIGURE = 128
_NAMED = 256
# The few elements with one of these to undo (leave tests them only when one is set).
_RARE = _PRE | _ARTICLE | _TABLE | _FIGURE | _NAMED

_FIGURE_MEDIA_SELECTOR = ", ".join(FIGURE_MEDIA_TAGS)

COMPILED: bool = cython.compiled  # built by setup.py, or running as plain Python


@dataclass
class Extracted:
    """What the extractor found in one page."""

    title: str | None
    date: str | None
    nodes: list[TextNode | ImageNode] = field(default_factory=list)


@cython.cclass
class _Block:
    # Compiled: C fields, public because the selection functions below read them as Python.
    kind = cython.declare(str, visibility="public")
    text = cython.declare(str, visibility="public")
    chars = cython.declare(cython.Py_ssize_t, visibility="public")
    link_chars = cython.declare(cython.Py_ssize_t, visibility="public")
    ancestors = cython.declare(tuple, visibility="public")
    image = cython.declare(object, visibility="public")
    in_boilerplate = cython.declare(cython.bint, visibility="public")
    _notice = cython.declare(object, visibility="public")
    good = cython.declare(cython.int)  # _is_good's answer once asked, else -1

    def __init__(
        self,
        kind: str,
        text: str,
        link_chars: int,
        ancestors: tuple[int, ...],
        image: ImageNode | None = None,
        in_boilerplate: bool = False,
    ) -> None:
        self.kind = kind
        self.text = text
        self.chars = len(text)
        self.link_chars = min(link_chars, self.chars)
        self.ancestors = ancestors
        self.image = image
        self.in_boilerplate = in_boilerplate
        self._notice: bool | None = None
        self.good = -1

    @property
    def link_density(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0

    @property
    def notice(self) -> bool:
        """A copyright / registration line. Looked up lazily: most blocks never need it."""
        if self._notice is None:
            self._notice = bool(self.text) and is_legal_notice(self.text)
        return self._notice


def collapse_whitespace(raw: str) -> str:
    """Collapse runs of whitespace, keeping the line breaks <br> put in, dropping empty lines."""
    if "\n" not in raw:  # most blocks: one line, whose split() gives the same words
        return " ".join(raw.split())
    return "\n".join(" ".join(line.split()) for line in raw.split("\n") if line and not line.isspace())


def _preformatted(raw: str) -> str:
    return "\n".join(line.rstrip() for line in raw.strip("\n").split("\n")).strip("\n")


@cython.cclass
class _Walker:
    """One pass over the DOM, turning it into blocks with their ancestor element ids."""

    # Public: pipeline/extract/dom_native.pyx walks into the same fields.
    base_url = cython.declare(str, visibility="public")
    wrapper_chars = cython.declare(cython.double, visibility="public")
    blocks = cython.declare(list, visibility="public")
    depths = cython.declare(list, visibility="public")
    parents = cython.declare(list, visibility="public")
    signatures = cython.declare(list, visibility="public")
    semantic = cython.declare(list, visibility="public")
    named_boilerplate = cython.declare(set, visibility="public")
    containers = cython.declare(set, visibility="public")
    boilerplate_depth: cython.Py_ssize_t
    ancestors: list
    kinds: list
    tables: list
    captions: list
    buffer: list
    link_chars: cython.Py_ssize_t
    link_depth: cython.Py_ssize_t
    pre_depth: cython.Py_ssize_t
    article_depth: cython.Py_ssize_t

    def __init__(self, base_url: str, page_chars: int) -> None:
        self.base_url = base_url
        self.wrapper_chars = page_chars * WRAPPER_TEXT_SHARE
        self.blocks: list[_Block] = []
        self.depths: list[int] = []  # element id → depth
        self.parents: list[int] = []  # element id → parent element id (-1 at the top)
        # element id → "tag.class" of a possible listing item, else None: siblings sharing it
        # are the items of one listing.
        self.signatures: list[str | None] = []
        self.semantic: list[int] = []  # ids of <article>/<main>/articleBody-like elements
        # Ids of elements whose class/id names boilerplate. Walked rather than skipped: Blogger
        # puts whole posts in a "widget", so whether they count depends on the container.
        self.named_boilerplate: set[int] = set()
        self.containers: set[int] = set()  # ids of elements that may hold the main content
        self.boilerplate_depth = 0
        self.ancestors: list[int] = []
        self.kinds: list[str] = []
        self.tables: list[bool] = []  # per open <table>: does it hold data (not layout)?
        self.captions: list[str | None] = []  # per open <figure> with an image
        self.buffer: list[str] = []
        self.link_chars = 0
        self.link_depth = 0
        self.pre_depth = 0
        self.article_depth = 0

    # -- blocks ------------------------------------------------------------------------
    @cython.ccall
    def flush(self) -> None:
        if not self.buffer:
            return
        raw = "".join(self.buffer)
        self.buffer.clear()
        link_chars, self.link_chars = self.link_chars, 0
        kind = self.kinds[-1] if self.kinds else PARAGRAPH
        text = _preformatted(raw) if self.pre_depth else collapse_whitespace(raw)
        if kind == TABLE:
            text = text.strip(" |")
        if text:
            self.blocks.append(
                _Block(kind, text, link_chars, tuple(self.ancestors), None, self.boilerplate_depth > 0)
            )

    @cython.cfunc
    def add_image(self, image: ImageNode | None) -> None:
        if image is None:
            return
        self.flush()
        if self.captions and image.caption is None:
            image.caption = self.captions[-1]
        self.blocks.append(
            _Block(IMAGE, "", 0, tuple(self.ancestors), image, self.boilerplate_depth > 0)
        )

    # -- walk --------------------------------------------------------------------------
    def walk(self, root: LexborNode) -> None:
        # Iterative: broken pages nest thousands of unclosed tags, beyond Python's recursion.
        # This loop runs once per node of the page, so text nodes (about half of them) are
        # handled inline and each child wrapper is fetched once.
        buffer: list = self.buffer
        parents: list = []
        tag: str
        text: str
        actions: cython.int
        parent_actions: cython.int
        node = root.child
        while node is not None:
            tag = node.tag
            if tag == "-text":
                text = node.text_content
                # Whitespace between tags opens no block (most text nodes of a page are such).
                if text and (buffer or not text.isspace()):
                    buffer.append(text)
                    if self.link_depth:
                        self.link_chars += len(text.strip())
            elif tag and tag[0].isalpha():  # not a comment, doctype, ...
                actions = self.enter_element(node, tag)
                if actions >= 0:
                    child = node.child
                    if child is not None:
                        parents.append((node, actions))
                        node = child
                        continue
                    if actions:
                        self.leave(actions)
            following = node.next
            while following is None and parents:
                parent, parent_actions = parents.pop()
                if parent_actions == _LINK:  # a plain link, the commonest: undone inline
                    self.link_depth -= 1
                elif parent_actions:
                    self.leave(parent_actions)
                following = parent.next
            node = following
        self.flush()

    @cython.cfunc
    def enter_element(self, node: LexborNode, tag: str) -> cython.int:
        """The exit actions of an element to walk into, or -1 when its subtree is not walked."""
        if tag == "br":
            self.buffer.append("\n")
            return -1
        attrs = node.attributes
        if tag == "img":
            self.add_image(image_node(attrs, self.base_url))
            return -1
        if tag == "picture":
            self.add_picture(node)
            return -1
        if not attrs and tag not in ACTIVE_TAGS:
            return 0
        # is_skipped can only say yes to these tags or to an element with one of these
        # attributes: the test saves a call for most elements.
        if (
            tag in SKIP_CHECKED_TAGS or "hidden" in attrs or "style" in attrs or "role" in attrs
        ) and self.is_skipped(node, tag, attrs):
            if tag in BLOCK_TAGS:
                self.flush()
            return -1
        return self.open_element(node, tag, attrs)

    def add_picture(self, node: LexborNode) -> None:
        source = node.css_first("source[srcset], source[data-srcset]")
        srcset = None
        if source is not None:
            source_attrs = source.attributes
            srcset = source_attrs.get("data-srcset") or source_attrs.get("srcset")
        img = node.css_first("img")
        attrs = img.attributes if img is not None else {}
        self.add_image(image_node(attrs, self.base_url, picture_srcset=srcset))

    def is_skipped(self, node: LexborNode, tag: str, attrs: dict[str, str | None]) -> bool:
        """Hidden, or boilerplate by tag or role: the whole subtree is left out."""
        if tag == "figcaption" and self.captions:
            return True  # already on the figure's image node
        if not attrs and tag not in BOILERPLATE_TAGS and tag != "header":
            return False
        if is_hidden(attrs):
            return True
        boilerplate = (
            tag in BOILERPLATE_TAGS
            or (tag == "header" and not self.article_depth)
            or is_boilerplate_role(attrs)
        )
        return boilerplate and not self.is_page_wrapper(node)

    def is_page_wrapper(self, node: LexborNode) -> bool:
        return len(node.text(deep=True)) > self.wrapper_chars

    @cython.cfunc
    def open_element(self, node: LexborNode, tag: str, attrs: dict) -> cython.int:
        """Note an element the walk goes into; returns what leave must undo."""
        named_boilerplate = main_name = False
        if attrs:
            cls = attrs.get("class")
            ident = attrs.get("id")
            if cls or ident:
                boilerplate_name, main_name = name_signals(cls, ident)
                named_boilerplate = boilerplate_name and tag not in NEVER_BOILERPLATE_TAGS
        else:
            cls = None
        in_data_table = bool(self.tables) and self.tables[-1]
        is_block = tag in BLOCK_TAGS and not (in_data_table and tag in CELL_TAGS)
        actions = 0
        if is_block or named_boilerplate:
            actions = self.open_block(tag, cls, attrs, is_block, named_boilerplate, main_name)
        if tag == "a":  # the commonest element of most pages: spared the tests below
            self.link_depth += 1
            return actions | _LINK
        if tag in STRUCTURE_TAGS:
            actions |= self.open_structure(node, tag, in_data_table)
        return actions

    @cython.cfunc
    def open_block(
        self,
        tag: str,
        cls: str | None,
        attrs: dict,
        is_block: cython.bint,
        named_boilerplate: cython.bint,
        main_name: cython.bint,
    ) -> cython.int:
        """Give the element an id (an ancestor of the blocks inside it); a block element ends
        the current block."""
        actions = _ANCESTOR
        if is_block:
            if self.buffer:
                self.flush()
            actions |= _BLOCK
        ancestors = self.ancestors
        element_id = len(self.depths)
        self.depths.append(len(ancestors))
        self.parents.append(ancestors[-1] if ancestors else -1)
        self.signatures.append(f"{tag}.{cls or ''}" if tag in ITEM_TAGS else None)
        ancestors.append(element_id)
        if tag in CONTAINER_TAGS:
            self.containers.add(element_id)
        if named_boilerplate:
            self.flush()
            self.named_boilerplate.add(element_id)
            self.boilerplate_depth += 1
            actions |= _NAMED
        elif self.is_semantic(tag, attrs, main_name):
            self.semantic.append(element_id)
        return actions

    @cython.cfunc
    def open_structure(self, node: LexborNode, tag: str, in_data_table: cython.bint) -> cython.int:
        """Article, preformatted, table, figure, table-part and block-kind state of a
        STRUCTURE_TAGS element."""
        if tag in TABLE_PART_TAGS:  # rows and cells, the commonest: none of the tests below
            return self.open_table_part(tag, in_data_table)
        actions = 0
        if tag in SEMANTIC_TAGS:
            self.article_depth += 1
            actions |= _ARTICLE
        if tag == "pre":
            self.pre_depth += 1
            actions |= _PRE
        elif tag == "table":
            self.tables.append(node.css_first(LAYOUT_TABLE_SELECTOR) is None)
            actions |= _TABLE
        elif tag == "figure":
            actions |= self.open_figure(node)
        kind = KIND_OF_TAG.get(tag)
        if kind is not None:
            self.kinds.append(kind)
            actions |= _KIND
        return actions

    @cython.cfunc
    def open_table_part(self, tag: str, in_data_table: cython.bint) -> cython.int:
        """A data table's row is a block of its own, its cells are separated within it."""
        if not in_data_table:
            return 0
        if tag == "tr":
            self.kinds.append(TABLE)
            return _KIND
        if self.buffer:
            self.buffer.append(CELL_SEPARATOR)
        return 0

    @cython.cfunc
    def open_figure(self, node: LexborNode) -> cython.int:
        if node.css_first(_FIGURE_MEDIA_SELECTOR) is None:
            return 0  # a figure around a quote or code: walk it like any block
        figcaption = node.css_first("figcaption")
        caption = collapse_whitespace(figcaption.text(deep=True)) if figcaption is not None else ""
        self.captions.append(caption.replace("\n", " ") or None)
        return _FIGURE

    @staticmethod
    def is_semantic(tag: str, attrs: dict[str, str | None], main_name: bool) -> bool:
        """<article>/<main>, role=main, itemprop=articleBody, or a class/id naming the main
        content (``main_name``, from boilerplate.name_signals)."""
        if main_name or tag in SEMANTIC_TAGS or attrs.get("role") == "main":
            return True
        return (attrs.get("itemprop") or "").lower() == "articlebody"

    @cython.cfunc
    def leave(self, actions: cython.int) -> None:
        if actions & (_BLOCK | _NAMED) and self.buffer:
            self.flush()
        if actions & _ANCESTOR:
            self.ancestors.pop()
        if actions & _KIND:
            self.kinds.pop()
        if actions & _LINK:
            self.link_depth -= 1
        if actions & _RARE:
            self.leave_rare(actions)

    @cython.cfunc
    def leave_rare(self, actions: cython.int) -> None:
        if actions & _PRE:
            self.pre_depth -= 1
        if actions & _ARTICLE:
            self.article_depth -= 1
        if actions & _TABLE:
            self.tables.pop()
        if actions & _FIGURE:
            self.captions.pop()
        if actions & _NAMED:
            self.boilerplate_depth -= 1


# -- choosing the main content ------------------------------------------------------------
# The selection reads every block's link density and notice several times: compiled, these read
# the C fields (the properties are Python calls); the same values.
@cython.cfunc
@cython.inline
def _density(block: _Block) -> cython.double:
    return block.link_chars / block.chars if block.chars else 0.0


@cython.cfunc
@cython.inline
def _is_notice(block: _Block) -> cython.bint:
    return block._notice if block._notice is not None else block.notice


# C copies of the thresholds _is_good compares with (Python numbers would box every count).
_MIN_GOOD = cython.declare(cython.Py_ssize_t, MIN_GOOD_CHARS)
_MAX_GOOD_DENSITY = cython.declare(cython.double, MAX_GOOD_LINK_DENSITY)


@cython.cfunc
def _is_good(block: _Block) -> cython.bint:
    """Good text: long enough, few links, no notice. Asked up to three times per block."""
    kind: str
    if block.good < 0:
        kind = block.kind
        block.good = (
            kind != IMAGE and kind != HEADING and kind != CAPTION
            and block.chars >= _MIN_GOOD
            and _density(block) <= _MAX_GOOD_DENSITY
            and not _is_notice(block)
        )
    return block.good


def _good_text_per_element(blocks: list[_Block]) -> tuple[dict[int, int], int]:
    totals: dict[int, int] = {}
    grand_total = 0
    for block in blocks:
        if _is_good(block):
            grand_total += block.chars
            for element_id in block.ancestors:
                totals[element_id] = totals.get(element_id, 0) + block.chars
    return totals, grand_total


def _boilerplate_elements(walker: _Walker, blocks: list[_Block]) -> set[int]:
    """Boilerplate-named elements, minus those holding most of the good text: those are
    wrappers with unlucky names (Blogger wraps posts in "widget" and "date-outer")."""
    totals, grand_total = _good_text_per_element(blocks)
    limit = WRAPPER_TEXT_SHARE * grand_total
    return {e for e in walker.named_boilerplate if not grand_total or totals.get(e, 0) < limit}


def _mark_boilerplate(blocks: list[_Block], boilerplate: set[int]) -> None:
    for block in blocks:
        if block.in_boilerplate:
            block.in_boilerplate = any(a in boilerplate for a in block.ancestors)


# -- listings ------------------------------------------------------------------------------
@dataclass
class _Listing:
    """The page's repeated image items: element ids of the items, their images, and the
    images' weight (alt characters) to compare with the page's good text."""

    items: set[int] = field(default_factory=set)
    images: list[_Block] = field(default_factory=list)
    weight: int = 0

    def holds(self, block: _Block) -> bool:
        return any(a in self.items for a in block.ancestors)


def _alt_weight(block: _Block) -> int:
    return min(len(block.image.alt or ""), MAX_ALT_WEIGHT) if block.image else 0


def find_listing(walker: _Walker, blocks: list[_Block]) -> _Listing:
    """Sibling elements of one tag and class, each holding one or two images with real alt
    text: the items of a product grid or gallery."""
    content = [b for b in blocks if b.image is not None and has_meaningful_alt(b.image.alt)]
    if len(content) < MIN_GRID_ITEMS:
        return _Listing()
    images_in: dict[int, int] = {}
    for block in content:
        for element_id in block.ancestors:
            images_in[element_id] = images_in.get(element_id, 0) + 1
    siblings: dict[tuple[int, str], set[int]] = {}
    for block in content:
        for element_id in block.ancestors:
            signature = walker.signatures[element_id]
            if signature is not None and images_in[element_id] <= MAX_ITEM_IMAGES:
                key = (walker.parents[element_id], signature)
                siblings.setdefault(key, set()).add(element_id)
    listing = _Listing()
    for members in siblings.values():
        if len(members) >= MIN_GRID_ITEMS:
            listing.items |= members
    listing.images = [b for b in content if listing.holds(b)]
    listing.weight = sum(_alt_weight(b) for b in listing.images)
    return listing


def _listing_container(
    walker: _Walker, totals: dict[int, int], grand_total: int, listing: _Listing
) -> int | None:
    """The deepest element holding most of the listing and, when it can, most of the text
    too (a shop's intro above its grid)."""
    weights: dict[int, int] = {}
    for block in listing.images:
        for element_id in block.ancestors:
            weights[element_id] = weights.get(element_id, 0) + _alt_weight(block)
    holding = [
        e
        for e, weight in weights.items()
        if weight >= CONTAINER_SHARE * listing.weight and e in walker.containers
    ]
    with_text = [e for e in holding if totals.get(e, 0) >= CONTAINER_SHARE * grand_total]
    candidates = with_text or holding
    return max(candidates, key=lambda e: walker.depths[e]) if candidates else None


def choose_container(
    walker: _Walker, totals: dict[int, int], grand_total: int, listing: _Listing | None
) -> int | None:
    """Id of the main-content element, or None to keep the whole page's good blocks."""
    if listing is not None:
        return _listing_container(walker, totals, grand_total, listing)
    if not grand_total:
        return None
    semantic = [e for e in walker.semantic if totals.get(e, 0) >= SEMANTIC_SHARE * grand_total]
    if semantic:
        # The outermost of the semantic elements holding most of the text keeps the article's
        # own headline and lead image along with its body.
        best = max(totals[e] for e in semantic)
        return min((e for e in semantic if totals[e] >= 0.9 * best), key=lambda e: walker.depths[e])
    candidates = [
        e
        for e, chars in totals.items()
        if chars >= CONTAINER_SHARE * grand_total and e in walker.containers
    ]
    return max(candidates, key=lambda e: walker.depths[e]) if candidates else None


def _keep(block: _Block, listing: _Listing | None) -> bool:
    if block.kind == IMAGE:
        return True
    if _density(block) > MAX_KEPT_LINK_DENSITY or _is_notice(block):
        return False
    # A listing item's own short texts are prices, ratings and buttons; its image is the content.
    return listing is None or block.kind == HEADING or _is_good(block) or not listing.holds(block)


# -- index pages ---------------------------------------------------------------------------
def _list_item(walker: _Walker, block: _Block) -> int | None:
    """Id of the <li> a block belongs to."""
    for element_id in reversed(block.ancestors):
        signature = walker.signatures[element_id]
        if signature is not None and signature.startswith("li."):
            return element_id
    return None


def index_list(walker: _Walker, blocks: list[_Block]) -> list[_Block]:
    """The blocks of the page's dominant list of items (grouped by the <li>s' parent), or []."""
    lists: dict[int, list[_Block]] = {}
    items: dict[int, set[int]] = {}
    page_chars = 0
    for block in blocks:
        if _is_notice(block) or block.kind == IMAGE:
            continue
        page_chars += block.chars
        item = _list_item(walker, block) if block.kind == LIST else None
        if item is not None:
            parent = walker.parents[item]
            lists.setdefault(parent, []).append(block)
            items.setdefault(parent, set()).add(item)
    if not lists:
        return []
    parent = max(lists, key=lambda p: sum(b.chars for b in lists[p]))
    chars = sum(b.chars for b in lists[parent])
    count = len(items[parent])
    if count < MIN_INDEX_ITEMS or chars < MIN_INDEX_ITEM_CHARS * count:
        return []
    return lists[parent] if chars >= INDEX_TEXT_SHARE * page_chars else []


def _to_nodes(blocks: list[_Block]) -> list[TextNode | ImageNode]:
    nodes: list[TextNode | ImageNode] = []
    for block in blocks:
        if block.image is not None:
            previous = nodes[-1] if nodes else None
            if isinstance(previous, ImageNode) and previous.url == block.image.url:
                continue  # the same image repeated adjacently (e.g. <picture> + <noscript>)
            block.image.position = len(nodes)
            nodes.append(block.image)
        else:
            nodes.append(TextNode(text=block.text, kind=block.kind))
    return nodes


def _drop_orphan_headings(blocks: list[_Block], kept: list[bool]) -> None:
    """A heading whose section text was all dropped ("Related articles" over a link list) or
    that ends the page introduces nothing: drop it too."""
    following_kept: bool | None = None  # is the next text block kept? None at the end
    for i in range(len(blocks) - 1, -1, -1):
        block = blocks[i]
        if block.kind == IMAGE:
            continue
        if block.kind == HEADING:
            kept[i] = kept[i] and bool(following_kept)
        following_kept = kept[i]


def select_main_blocks(walker: _Walker) -> list[_Block]:
    _mark_boilerplate(walker.blocks, _boilerplate_elements(walker, walker.blocks))
    candidates = [b for b in walker.blocks if not b.in_boilerplate]
    totals, grand_total = _good_text_per_element(candidates)
    found = find_listing(walker, candidates)
    # The listing is the content when its alt text outweighs the page's good text; otherwise
    # it is an article with a few pictures, and its text leads.
    listing = found if found.weight > grand_total else None
    if listing is None and not grand_total:
        index = index_list(walker, candidates)
        if index:
            return index
    container = choose_container(walker, totals, grand_total, listing)
    if container is not None:
        candidates = [b for b in candidates if container in b.ancestors]
    kept = [_keep(b, listing) for b in candidates]
    _drop_orphan_headings(candidates, kept)
    return [b for b, keep in zip(candidates, kept) if keep]


# -- metadata ------------------------------------------------------------------------------
_TITLE_QUERIES = (("title", None), ('meta[property="og:title"]', "content"),
                  ('meta[name="twitter:title"]', "content"), ("h1", None))


def find_title(tree: LexborHTMLParser, candidates: tuple | None = None) -> str | None:
    """The page's title: the first of <title>, og:title, twitter:title and <h1> that has text.
    ``candidates``, when given, are what each query's css_first gives (dom_native.scan finds
    all four in its one pass; each query walks the tree)."""
    for i, (selector, attribute) in enumerate(_TITLE_QUERIES):
        node = tree.css_first(selector) if candidates is None else candidates[i]
        if node is None:
            continue
        value = node.attributes.get(attribute) if attribute else node.text(deep=True)
        title = " ".join((value or "").split())
        if title:
            return title
    return None


# A page without "<base" needs no CSS query for it (a query walks the whole tree).
_BASE_TAG_RE = re.compile(r"<base[\s/>]", re.IGNORECASE)


def base_url_of(tree: LexborHTMLParser, url: str, html: str | None = None) -> str:
    if html is not None and _BASE_TAG_RE.search(html) is None:
        return url
    base = tree.css_first("base[href]")
    return _resolve_base(url, base.attributes.get("href") if base is not None else None)


def _resolve_base(url: str, href: str | None) -> str:
    href = (href or "").strip()
    if not href:
        return url
    try:
        return urljoin(url, href)
    except ValueError:
        return url


_JUNK_SELECTOR = ", ".join(JUNK_TAGS)


def strip_junk(tree: LexborHTMLParser) -> None:
    """Detach every junk element (what ``tree.strip_tags(JUNK_TAGS)`` does, in one query
    rather than one walk of the tree per tag; detached, so nested ones are harmless)."""
    for node in tree.css(_JUNK_SELECTOR):
        node.decompose(recursive=False)


def remove_junk_containers(root: LexborNode, page_chars: int) -> None:
    wrapper_chars = page_chars * WRAPPER_TEXT_SHARE
    for node in root.css(", ".join(JUNK_CONTAINER_TAGS)):
        if node.parent is None:
            continue  # inside a junk element already removed
        if len(node.text(deep=True)) > wrapper_chars:
            node.unwrap()
        else:
            node.decompose()


# -- entry point ---------------------------------------------------------------------------
def extract_document(html: str, url: str, source: bytes | None = None) -> Extracted:
    """Main text blocks and in-place images of one HTML page. Never raises on bad HTML.
    ``source``: ``html`` in UTF-8 when the caller has it (charset.decode_html_source), which the
    parser reads as it is instead of encoding ``html`` again."""
    if not html or html.isspace():  # what "not html.strip()" says, without copying the page
        return Extracted(title=None, date=None, nodes=[])
    try:
        return _extract(html, url, source)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, RuntimeError):
        # The parser and heuristics see arbitrary input; a page that trips them is a bad
        # record, not a reason to stop a Spark task.
        return Extracted(title=None, date=None, nodes=[])


def _extract(html: str, url: str, source: bytes | None = None) -> Extracted:
    tree = LexborHTMLParser(html if source is None else source)
    if NATIVE_WALK:
        title, date, walker = _native_walk(tree, url)
    else:
        title, date = find_title(tree), find_date(tree)
        walker = _python_walk(tree, url, html)
    nodes = _to_nodes(select_main_blocks(walker)) if walker is not None else []
    return Extracted(title=title, date=date, nodes=nodes)


def _python_walk(tree: LexborHTMLParser, url: str, html: str) -> _Walker | None:
    base_url = base_url_of(tree, url, html)
    strip_junk(tree)
    root = tree.body or tree.root
    if root is None:
        return None
    page_chars = len(root.text(deep=True))
    remove_junk_containers(root, page_chars)
    walker = _Walker(base_url, page_chars)
    walker.walk(root)
    return walker


def _native_walk(tree: LexborHTMLParser, url: str) -> tuple[str | None, str | None, _Walker | None]:
    """The title, the date and _python_walk's walker, in C. The tree is not changed: the walk
    leaves junk out and skips or unwraps junk containers as it meets them, with the same result."""
    root = tree.root
    body = tree.body or root
    if root is None or body is None:
        return find_title(tree), find_date(tree), None
    href, date_candidates, page_chars, tables, titles = dom_native.scan(root.mem_id, body.mem_id)
    walker = _Walker(_resolve_base(url, href), page_chars)
    dom_native.walk(walker, body.mem_id, tables)
    return find_title(tree, titles), find_date(tree, date_candidates), walker


# -- the native walk -----------------------------------------------------------------------
# A page with every construct the walk treats apart: both walks must give the same result on
# it before the native one is used.
_PROBE_PAGE = """<html><head><title>t</title><base href="/base/"><style>p{}</style></head><body>
<script>var x = "<p>not text</p>";</script><noscript><img src="/n.jpg" alt="Seen without scripts"></noscript>
<button class="menu">Menu</button><svg><text>an icon</text></svg>
<div id="site-header" class="header"><a href="/">Home</a> <a href="/a">About</a></div>
<main><article class="post entry-content" itemprop="articleBody"><header><h1>Headline of
the post</h1></header><p>First paragraph of the article, long enough to count as good text,
with <a href="/x">a link</a> and <b>bold</b><br>after a line break.</p>
<figure><img src="/a.jpg" alt="A photo of a harbour at dawn" width="640" height="480">
<figcaption>The harbour <i>at dawn</i></figcaption></figure>
<picture><source data-srcset="/b.webp 1x"><img src="/b.jpg" alt="Boats moored in a row"></picture>
<table><tr><th>Year</th><th>Ships</th></tr><tr><td>2020</td><td>14</td></tr></table>
<table><tr><td><p>Layout cell with a paragraph of text in it, long enough to matter.</p></td></tr></table>
<ul><li class="item">One item of the list</li><li class="item">Another item of the list</li></ul>
<pre>  code  line
    indented</pre><blockquote>A quotation, 引用された文章です。</blockquote>
<p hidden>hidden text</p><div style="display:none">styled away</div>
<div role="navigation">role nav</div><span role="main">中文段落，足够长的文字用来测试。</span>
<my-widget class="x">custom element text</my-widget><!-- a comment -->
<dl><dt>Term</dt><dd>Definition</dd></dl></article></main>
<aside class="sidebar">Related links</aside><nav><a href="/n">Next</a></nav>
<footer>Copyright 2024 Example. All rights reserved.</footer></body></html>"""


def _walk_result(walker: _Walker) -> tuple:
    blocks = [
        (b.kind, b.text, b.chars, b.link_chars, b.ancestors, b.in_boilerplate,
         b.image)
        for b in walker.blocks
    ]  # fmt: skip
    return (blocks, walker.depths, walker.parents, walker.signatures, walker.semantic,
            walker.named_boilerplate, walker.containers)  # fmt: skip


def _walk_both(html: str, url: str) -> tuple[tuple, tuple]:
    """The Python walk's and the native walk's (title, date, walk result) on one page (for the
    probe and tests)."""
    tree = LexborHTMLParser(html)
    python = (find_title(tree), find_date(tree), _python_walk(tree, url, html))  # dates before the walk strips
    native = _native_walk(LexborHTMLParser(html), url)
    return tuple((title, date, _walk_result(w) if w is not None else None)  # type: ignore[return-value]
                 for title, date, w in (python, native))


def _native_walk_works() -> bool:
    """The native walk is built, linked to this selectolax, and agrees on the probe page.
    setup.py builds it along with this module; uncompiled, this module is the plain-Python
    reference and walks with selectolax."""
    if not COMPILED or dom_native is None or not dom_native.link():
        return False
    python, native = _walk_both(_PROBE_PAGE, "https://example.com/post")
    return python == native


NATIVE_WALK: bool = _native_walk_works()
