# cython: language_level=3, boundscheck=False, cdivision=True, initializedcheck=False
"""The DOM walk of pipeline/extract/html.py over lexbor's own structures, in C.

html.py's ``_Walker.walk`` reads the tree through selectolax's Python objects: a LexborNode
per child and sibling, a str per tag name, a dict per element's attributes. That costs more
than the decisions it feeds. This module makes the same decisions on the same tree by reading
lexbor's node, element, attribute and text structs directly (the tree selectolax parsed, found
from ``LexborNode.mem_id``), with tag names turned into bit flags once per tag id and strs
made only for the text and attribute values the walk keeps. It fills the same ``_Walker``
fields, so everything after the walk is shared.

It also spares the Python path's changes to the tree and its CSS queries (lexbor's selector
engine costs about 25 ns per node and query): junk is skipped and junk containers skipped or
unwrapped as the walk meets them (``_removed``), and ``scan`` reads the ``<base href>``, the
date candidates and the page length in one pass. tests/pipeline/extract/test_dom_native.py
compares walks and documents with the Python path on real, generated and crafted pages.

How it reaches lexbor without its headers or a link against it: the struct layouts below are
lexbor's own (lexbor/dom/interfaces/{node,element,attr,character_data}.h, Apache-2.0, as
bundled by selectolax 1.0.2), and the two name functions are looked up with dlsym in
selectolax's already-loaded extension, which exports lexbor's API. ``link()`` refuses a
selectolax version the layouts were not checked against, and html.py uses this module only
after a probe page walked identically both ways (``html.NATIVE_WALK``); otherwise it walks
with selectolax as before.
"""

from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcmp, memcpy, memset, strlen

from pipeline.extract.boilerplate import BOILERPLATE_ROLES, MAX_LEGAL_NOTICE_CHARS, hiding_style

cdef extern from "<dlfcn.h>":
    void *dlopen(const char *filename, int flags)
    void *dlsym(void *handle, const char *symbol)
    int RTLD_NOW
    int RTLD_NOLOAD

cdef extern from "Python.h":
    int PyUnicode_KIND(object text)
    void *PyUnicode_DATA(object text)
    unsigned int PyUnicode_READ(int kind, void *data, Py_ssize_t index)  # a Py_UCS4, as a number

cdef extern from *:
    """
    /* lexbor 2.x structs as bundled by selectolax 1.0.2 (Apache-2.0), up to the last field
       read here; only pointers to them are used, so the tails need not be declared. */
    typedef struct { unsigned char *data; size_t length; } il_lexbor_str_t;
    typedef struct il_node il_node_t;
    struct il_node {
        void *events;                       /* lxb_dom_event_target_t */
        uintptr_t local_name, prefix, ns;
        void *owner_document;
        il_node_t *next, *prev, *parent, *first_child, *last_child;
        void *user;
        int type;                           /* lxb_dom_node_type_t */
    };
    typedef struct il_attr il_attr_t;
    typedef struct {
        il_node_t node;
        uintptr_t upper_name, qualified_name;
        il_lexbor_str_t *is_value;
        il_attr_t *first_attr;
    } il_element_t;
    struct il_attr {
        il_node_t node;
        uintptr_t upper_name, qualified_name;
        il_lexbor_str_t *value;
        il_element_t *owner;
        il_attr_t *next;
    };
    typedef struct { il_node_t node; il_lexbor_str_t data; } il_character_data_t;
    typedef const unsigned char *(*il_name_f)(const void *, size_t *);
    """
    ctypedef struct il_lexbor_str_t:
        unsigned char *data
        size_t length
    ctypedef struct il_node_t:
        uintptr_t local_name
        il_node_t *next
        il_node_t *parent
        il_node_t *first_child
        int type
    ctypedef struct il_attr_t:
        il_node_t node
        uintptr_t qualified_name
        il_lexbor_str_t *value
        il_attr_t *next
    ctypedef struct il_element_t:
        il_attr_t *first_attr
    ctypedef struct il_character_data_t:
        il_lexbor_str_t data
    ctypedef const unsigned char *(*il_name_f)(const void *, size_t *)

# lexbor's node types and the tag ids selectolax names "-text", "-document", ... (tag/const.h)
cdef enum:
    NODE_ELEMENT = 1
    NODE_TEXT = 3
    TAG_TEXT = 2
    TAG_DOCUMENT = 3
    TAG_EM_COMMENT = 4
    TAG_EM_DOCTYPE = 5
    STATIC_TAGS = 0xC7  # LXB_TAG__LAST_ENTRY: ids below are fixed, above are per document
    STATIC_ATTRS = 0x49  # LXB_DOM_ATTR__LAST_ENTRY (dom/interfaces/attr_const.h), the same for attributes

# What the walk needs to know about a tag, as bits (html.py keeps these as sets of names).
cdef enum:
    T_ELEMENT = 1 << 0       # an element the walk enters (name starts with a letter)
    T_ACTIVE = 1 << 1
    T_BLOCK = 1 << 2
    T_SKIP_CHECKED = 1 << 3
    T_BOILERPLATE = 1 << 4
    T_STRUCTURE = 1 << 5
    T_SEMANTIC = 1 << 6
    T_CONTAINER = 1 << 7
    T_NEVER_BOILERPLATE = 1 << 8
    T_ITEM = 1 << 9
    T_CELL = 1 << 10
    T_TABLE_PART = 1 << 11
    T_LAYOUT = 1 << 12       # matches html.LAYOUT_TABLE_SELECTOR
    T_KIND = 1 << 13         # in KIND_OF_TAG
    T_BR = 1 << 14
    T_IMG = 1 << 15
    T_PICTURE = 1 << 16
    T_A = 1 << 17
    T_PRE = 1 << 18
    T_TABLE = 1 << 19
    T_FIGURE = 1 << 20
    T_TR = 1 << 21
    T_HEADER = 1 << 22
    T_FIGCAPTION = 1 << 23
    T_SOURCE = 1 << 24
    T_JUNK = 1 << 25          # boilerplate.JUNK_TAGS: html.py strips them before the walk
    T_JUNK_CONTAINER = 1 << 26  # boilerplate.JUNK_CONTAINER_TAGS: removed unless a wrapper
    T_BASE = 1 << 27
    T_META = 1 << 28
    T_SCRIPT = 1 << 29
    T_TIME = 1 << 30
    # html.FIGURE_MEDIA_TAGS: a figure around one of these holds an image
    T_FIGURE_MEDIA = T_IMG | T_PICTURE | T_SOURCE

# html.py's exit actions (same values).
cdef enum:
    A_BLOCK = 1
    A_ANCESTOR = 2
    A_KIND = 4
    A_LINK = 8
    A_PRE = 16
    A_ARTICLE = 32
    A_TABLE = 64
    A_FIGURE = 128
    A_NAMED = 256
    A_RARE = A_PRE | A_ARTICLE | A_TABLE | A_FIGURE | A_NAMED

# selectolax versions whose bundled lexbor has the layouts above (checked by the probe too).
CHECKED_SELECTOLAX = ("1.0.2",)

cdef il_name_f _element_name = NULL
cdef il_name_f _attr_qualified_name = NULL
# The names of the fixed attribute ids (class, id, href, src, style...), read from lexbor once:
# most attributes of a page then need no call into it.
cdef const unsigned char *_static_attr_names[STATIC_ATTRS]
cdef size_t _static_attr_lengths[STATIC_ATTRS]
cdef unsigned int _static_flags[STATIC_TAGS]
cdef list _static_names = [None] * STATIC_TAGS
cdef list _static_kinds = [None] * STATIC_TAGS
cdef dict _dynamic_flags = {}
# lexbor's fixed ids of <title> and <h1> (scan's title candidates), learned by _flags.
cdef uintptr_t _title_id = 0, _h1_id = 0
cdef object _html = None  # pipeline.extract.html, bound on first use (it imports this module)
_state = {"linked": None}


def link() -> bool:
    """Find lexbor's name functions in selectolax's extension; False when that cannot be done
    safely (another selectolax version, symbols missing)."""
    global _element_name, _attr_qualified_name
    if _state["linked"] is not None:
        return _state["linked"]
    _state["linked"] = False
    import selectolax
    import selectolax.lexbor

    if selectolax.__version__ not in CHECKED_SELECTOLAX:
        return False
    handle = dlopen(selectolax.lexbor.__file__.encode(), RTLD_NOW | RTLD_NOLOAD)
    if handle == NULL:
        return False
    _element_name = <il_name_f> dlsym(handle, b"lxb_dom_element_qualified_name")
    _attr_qualified_name = <il_name_f> dlsym(handle, b"lxb_dom_attr_qualified_name")
    _state["linked"] = _element_name != NULL and _attr_qualified_name != NULL
    return _state["linked"]


cdef inline const unsigned char *_attr_name(il_attr_t *attr, size_t *length) noexcept:
    """lxb_dom_attr_qualified_name: the name of the id in qualified_name, else in local_name;
    an id below STATIC_ATTRS names the same attribute in every document."""
    cdef uintptr_t name_id = attr.qualified_name if attr.qualified_name else attr.node.local_name
    if name_id >= STATIC_ATTRS:
        return _attr_qualified_name(attr, length)
    if _static_attr_names[name_id] == NULL:
        _static_attr_names[name_id] = _attr_qualified_name(attr, &_static_attr_lengths[name_id])
    length[0] = _static_attr_lengths[name_id]
    return _static_attr_names[name_id]


# html.CELL_SEPARATOR, added to a block's bytes (tests/pipeline/extract/test_dom_native.py).
cdef const char *CELL_SEPARATOR = " | "
CELL_SEPARATOR_TEXT = CELL_SEPARATOR.decode()


cdef inline str _decode(const unsigned char *data, size_t length):
    # selectolax's own decoding of every name, value and text (its util.pxi _decode_utf8).
    return PyUnicode_DecodeUTF8(<const char*> data, length, "replace")


cdef str _tag_name(il_node_t *node):
    cdef size_t length = 0
    cdef const unsigned char *name = _element_name(node, &length)
    return None if name == NULL else _decode(name, length)


cdef object _module():
    global _html
    if _html is None:
        import pipeline.extract.html as html

        _html = html
    return _html


cdef unsigned int _flags_of_name(str name):
    h = _module()
    if not name or not name[0].isalpha():
        return 0
    cdef unsigned int flags = T_ELEMENT
    for bit, tags in (
        (T_ACTIVE, h.ACTIVE_TAGS), (T_BLOCK, h.BLOCK_TAGS), (T_SKIP_CHECKED, h.SKIP_CHECKED_TAGS),
        (T_BOILERPLATE, h.BOILERPLATE_TAGS), (T_STRUCTURE, h.STRUCTURE_TAGS),
        (T_SEMANTIC, h.SEMANTIC_TAGS), (T_CONTAINER, h.CONTAINER_TAGS),
        (T_NEVER_BOILERPLATE, h.NEVER_BOILERPLATE_TAGS), (T_ITEM, h.ITEM_TAGS),
        (T_CELL, h.CELL_TAGS), (T_TABLE_PART, h.TABLE_PART_TAGS), (T_LAYOUT, h.LAYOUT_TABLE_TAGS),
        (T_KIND, h.KIND_OF_TAG), (T_JUNK, h.JUNK_TAGS),
        (T_JUNK_CONTAINER, h.JUNK_CONTAINER_TAGS),
    ):
        if name in tags:
            flags |= bit
    for bit, tag in (
        (T_BR, "br"), (T_IMG, "img"), (T_PICTURE, "picture"), (T_A, "a"), (T_PRE, "pre"),
        (T_TABLE, "table"), (T_FIGURE, "figure"), (T_TR, "tr"), (T_HEADER, "header"),
        (T_FIGCAPTION, "figcaption"), (T_SOURCE, "source"), (T_BASE, "base"),
        (T_META, "meta"), (T_SCRIPT, "script"), (T_TIME, "time"),
    ):
        if name == tag:
            flags |= bit
    return flags


cdef unsigned int _flags(il_node_t *node) except? 0:
    """The tag bits of an element (0 for anything the walk does not enter)."""
    cdef uintptr_t tag_id = node.local_name
    cdef unsigned int flags
    if node.type != NODE_ELEMENT or tag_id in (TAG_TEXT, TAG_DOCUMENT, TAG_EM_COMMENT, TAG_EM_DOCTYPE):
        return 0
    if tag_id < STATIC_TAGS:
        flags = _static_flags[tag_id]
        if flags == 0 and _static_names[tag_id] is None:
            name = _tag_name(node)
            flags = _flags_of_name(name)
            _static_flags[tag_id] = flags
            _static_names[tag_id] = name
            _learn_title_ids(name, tag_id)
            _static_kinds[tag_id] = _html.KIND_OF_TAG.get(name)
        return flags
    name = _tag_name(node)  # a custom element: its id is only valid in this document
    cached = _dynamic_flags.get(name)
    if cached is None:
        if len(_dynamic_flags) > 4096:
            _dynamic_flags.clear()
        cached = _dynamic_flags[name] = _flags_of_name(name)
    return cached


cdef void _learn_title_ids(str name, uintptr_t tag_id) noexcept:
    global _title_id, _h1_id
    if name == "title":
        _title_id = tag_id
    elif name == "h1":
        _h1_id = tag_id


cdef inline str _name_of(il_node_t *node):
    return _static_names[node.local_name] if node.local_name < STATIC_TAGS else _tag_name(node)


cdef inline object _value(il_attr_t *attr):
    # selectolax: None for a valueless attribute (``<div hidden>``).
    if attr.value == NULL or attr.value.data == NULL:
        return None
    return _decode(attr.value.data, attr.value.length)


cdef dict _attributes(il_node_t *node):
    """What LexborNode.attributes gives: qualified names to values (None when valueless)."""
    cdef dict attrs = {}
    cdef il_attr_t *attr = (<il_element_t*> node).first_attr
    cdef size_t length = 0
    cdef const unsigned char *name
    while attr != NULL:
        name = _attr_name(attr, &length)
        attrs[_decode(name, length)] = _value(attr)
        attr = attr.next
    return attrs


cdef inline bint _equal(const unsigned char *data, size_t length, const char *name, size_t name_length) noexcept:
    return length == name_length and memcmp(data, name, length) == 0


cdef struct Attrs:
    # What the walk reads of an element's attributes, found in one pass (_read_attrs).
    il_attr_t *cls
    il_attr_t *ident
    il_attr_t *role
    il_attr_t *itemprop
    il_attr_t *style
    bint hidden
    bint may_hide  # has a hidden, style or role attribute


cdef void _read_attrs(il_node_t *node, Attrs *out) noexcept:
    cdef il_attr_t *attr = (<il_element_t*> node).first_attr
    cdef size_t length = 0
    cdef const unsigned char *name
    memset(out, 0, sizeof(Attrs))
    while attr != NULL:
        name = _attr_name(attr, &length)
        if name == NULL:
            pass
        elif _equal(name, length, "class", 5):
            out.cls = attr
        elif _equal(name, length, "id", 2):
            out.ident = attr
        elif _equal(name, length, "role", 4):
            out.role = attr
            out.may_hide = True
        elif _equal(name, length, "itemprop", 8):
            out.itemprop = attr
        elif _equal(name, length, "style", 5):
            out.style = attr
            out.may_hide = True
        elif _equal(name, length, "hidden", 6):
            out.hidden = out.may_hide = True
        attr = attr.next


cdef object _attribute(il_node_t *node, const char *name, size_t length, bint *present):
    """One attribute's value, as ``attrs.get(name)``; ``present`` says whether it is there."""
    cdef il_attr_t *attr = (<il_element_t*> node).first_attr
    cdef size_t got = 0
    cdef const unsigned char *data
    while attr != NULL:
        data = _attr_name(attr, &got)
        if data != NULL and _equal(data, got, name, length):
            present[0] = True
            return _value(attr)
        attr = attr.next
    present[0] = False
    return None


cdef inline size_t _utf8_chars(const unsigned char *data, size_t length) noexcept:
    # Code points of valid UTF-8 (what lexbor holds for a str input): lead bytes only.
    cdef size_t i, count = 0
    for i in range(length):
        count += (data[i] & 0xC0) != 0x80
    return count


cdef inline il_node_t *_following(il_node_t *node, il_node_t *top) noexcept:
    """The next node in document order after ``node``'s subtree, inside ``top``; NULL at the end."""
    while node != top and node.next == NULL:
        node = node.parent
    return NULL if node == top else node.next


# ``wrapper_chars`` below, when not the walk's own (>= 0): the tree as parsed, or without junk.
cdef double WHOLE_TREE = -2
cdef double NO_JUNK = -1


cdef bint _removed(il_node_t *node, double wrapper_chars) except -1:
    """Whether html.py takes this element out before its walk: a junk element (strip_junk),
    or, given the walk's ``wrapper_chars``, a junk container it decomposes rather than unwraps
    (remove_junk_containers). The walk and every text and element search below skip these
    subtrees instead of the tree being changed. A container's fate depends on its own text
    only, junk left out: html.py decides containers in document order, before any of their
    descendants."""
    if node.type != NODE_ELEMENT or wrapper_chars == WHOLE_TREE:
        return False
    cdef unsigned int flags = _flags(node)
    if flags & T_JUNK:
        return True
    return (wrapper_chars >= 0 and flags & T_JUNK_CONTAINER
            and not _text_of(node, None, NO_JUNK) > wrapper_chars)


cdef inline il_node_t *_next_in(il_node_t *node, il_node_t *top, double wrapper_chars) except? NULL:
    """The node after ``node`` in document order inside ``top``, past removed subtrees; NULL
    at the end."""
    if node.first_child != NULL and not _removed(node, wrapper_chars):
        return node.first_child
    return _following(node, top)


cdef size_t _text_of(il_node_t *top, list parts, double wrapper_chars) except? 0:
    """The characters of every text node below ``top`` (``len(node.text(deep=True))`` of the
    tree html.py walks; see _removed). The texts themselves are appended to ``parts`` unless
    it is None."""
    cdef size_t count = 0
    cdef il_node_t *node = top.first_child
    cdef il_character_data_t *text
    while node != NULL:
        if node.local_name == TAG_TEXT:
            text = <il_character_data_t*> node
            if text.data.data != NULL:
                count += _utf8_chars(text.data.data, text.data.length)
                if parts is not None:
                    parts.append(_decode(text.data.data, text.data.length))
        elif _removed(node, wrapper_chars):
            node = _following(node, top)
            continue
        node = _next_in(node, top, wrapper_chars)
    return count


cdef str _text(il_node_t *top, double wrapper_chars):
    """``node.text(deep=True)``."""
    parts = []
    _text_of(top, parts, wrapper_chars)
    return "".join(parts)


cdef il_node_t *_first(il_node_t *top, unsigned int flags, double wrapper_chars) except? NULL:
    """``css_first`` of a list of tag names: the first element below ``top`` with one of ``flags``."""
    cdef il_node_t *node = top.first_child
    while node != NULL:
        if node.type == NODE_ELEMENT and _flags(node) & flags and not _removed(node, wrapper_chars):
            return node
        node = _next_in(node, top, wrapper_chars)
    return NULL


cdef inline size_t _space_length(const unsigned char *data, size_t i, size_t length) noexcept:
    """The bytes of the whitespace character at ``data[i]`` (what str.isspace() and str.split()
    take for whitespace: tab to CR, FS to US, space, U+0085, U+00A0, U+1680, U+2000-U+200A,
    U+2028, U+2029, U+202F, U+205F, U+3000), or 0 for any other byte. ``data`` is valid UTF-8
    (lexbor replaces invalid input), so a continuation byte is never taken for a lead."""
    cdef unsigned char c = data[i], c1, c2
    if c < 0x80:
        return c == 32 or 9 <= c <= 13 or 28 <= c <= 31
    if c == 0xC2:
        return 2 if i + 1 < length and (data[i + 1] == 0x85 or data[i + 1] == 0xA0) else 0
    if c < 0xE1 or c > 0xE3 or i + 2 >= length:
        return 0
    c1, c2 = data[i + 1], data[i + 2]
    if c == 0xE1:
        return 3 if c1 == 0x9A and c2 == 0x80 else 0
    if c == 0xE3:
        return 3 if c1 == 0x80 and c2 == 0x80 else 0
    if c1 == 0x80:
        return 3 if c2 <= 0x8A or c2 == 0xA8 or c2 == 0xA9 or c2 == 0xAF else 0
    return 3 if c1 == 0x81 and c2 == 0x9F else 0


cdef bint _all_space(const unsigned char *data, size_t length) noexcept:
    """``str.isspace()`` of non-empty UTF-8 text."""
    cdef size_t i = 0, k
    while i < length:
        k = _space_length(data, i, length)
        if k == 0:
            return False
        i += k
    return True


cdef size_t _stripped_chars(const unsigned char *data, size_t length) noexcept:
    """``len(text.strip())`` of UTF-8 text: its characters from the first to the last that
    is not whitespace."""
    cdef size_t i = 0, k, count = 0, spaces = 0
    cdef bint started = False
    while i < length:
        k = _space_length(data, i, length)
        if k:
            spaces += started
            i += k
            continue
        if (data[i] & 0xC0) != 0x80:  # a character's first byte
            count += spaces + 1
            spaces = 0
            started = True
        i += 1
    return count


cdef size_t _collapse(unsigned char *data, size_t length) noexcept:
    """html.collapse_whitespace over UTF-8 text, in place; returns the new length. A run of
    whitespace inside a line becomes one space; lines (split at "\n" only) that are empty or
    all whitespace are dropped and the rest joined by "\n", each stripped. The output never
    outruns the input: a separator written replaces at least one separator byte read."""
    cdef size_t i = 0, out = 0, k
    cdef bint in_line = False, pending = False
    cdef unsigned char c
    while i < length:
        c = data[i]
        if c == 10:
            in_line = pending = False
            i += 1
            continue
        k = _space_length(data, i, length)
        if k:
            pending = True
            i += k
            continue
        if not in_line:
            if out:
                data[out] = 10
                out += 1
            in_line = True
        elif pending:
            data[out] = 32
            out += 1
        pending = False
        data[out] = c
        out += 1
        i += 1
    return out


cdef class Element:
    """An element of a parsed page with the part of LexborNode's API that dates.find_date reads
    (``tag``, ``attributes``, ``text()``). Valid while its parser is alive."""

    cdef il_node_t *node

    @property
    def tag(self) -> str:
        return _tag_name(self.node)

    @property
    def attributes(self) -> dict:
        return _attributes(self.node)

    def text(self, bint deep=True) -> str:
        if not deep:
            raise ValueError("only text(deep=True)")
        return _text(self.node, WHOLE_TREE)


cdef bint _dated(il_node_t *node, unsigned int flags) noexcept:
    """meta[content], script[type="application/ld+json"] (the value in any ASCII case),
    time[itemprop=datePublished], time[pubdate], [itemprop=datePublished], time[datetime];
    ``flags``: the element's tag bits."""
    cdef il_attr_t *attr = (<il_element_t*> node).first_attr
    cdef size_t length = 0
    cdef const unsigned char *name
    while attr != NULL:
        name = _attr_name(attr, &length)
        if name != NULL:
            if _equal(name, length, "itemprop", 8) and _value_is(attr, "datePublished", False):
                return True
            if flags & T_META and _equal(name, length, "content", 7):
                return True
            if flags & T_SCRIPT and _equal(name, length, "type", 4) and _value_is(attr, "application/ld+json", True):
                return True
            if flags & T_TIME and (_equal(name, length, "pubdate", 7) or _equal(name, length, "datetime", 8)):
                return True
        attr = attr.next
    return False


cdef bint _value_is(il_attr_t *attr, const char *expected, bint ascii_case) noexcept:
    """The attribute's value is ``expected`` (ignoring ASCII case when asked)."""
    cdef size_t i, length = strlen(expected)
    cdef unsigned char c
    if attr.value == NULL or attr.value.data == NULL or attr.value.length != length:
        return False
    for i in range(length):
        c = attr.value.data[i]
        if ascii_case and 65 <= c <= 90:
            c += 32
        if c != <unsigned char> expected[i]:
            return False
    return True


# A table's layout elements as scan sees them (html.LAYOUT_TABLE_TAGS below it, outside junk):
# one with no junk container between them, so the walk's _first finds it whatever the
# containers' fates; one only inside a junk container, found only if that is unwrapped.
cdef enum:
    LAYOUT_FOUND = 1
    LAYOUT_MAYBE = 2


def scan(size_t root, size_t body):
    """What html.py reads from a page before its walk, in one pass over the tree (each pass
    costs about as much as the next, memory-bound): the first ``<base href>`` value
    (``css_first("base[href]")``), the elements dates._DATE_SELECTOR selects in document
    order, the page's text length (text_chars of ``body``, which is ``root`` or below it), and
    each table's LAYOUT_* bits by node address, for ``walk``: a table's layout search then
    runs only where a junk container's fate decides it, instead of once per table; and the
    elements html.find_title reads (``_title_candidate``)."""
    cdef il_node_t *top = <il_node_t*> root
    cdef il_node_t *titles[4]  # the first <title>, og:title meta, twitter:title meta, <h1>
    cdef il_node_t *node = top.first_child
    cdef il_node_t *junk = NULL  # the junk element being passed through, if any
    cdef il_character_data_t *text
    cdef bint in_body = root == body, present = False
    cdef unsigned int flags
    cdef size_t page_chars = 0
    cdef int containers = 0  # junk containers open (outside junk)
    cdef int bits, parent
    cdef _Stack open_tables = _Stack()  # actions: LAYOUT_* bits | containers open at the table << 2
    cdef dict tables = {}
    href = None
    found_base = False
    candidates = []
    memset(titles, 0, sizeof(titles))
    while node != NULL:
        if node.local_name == TAG_TEXT:
            text = <il_character_data_t*> node
            if in_body and junk == NULL and text.data.data != NULL:
                page_chars += _utf8_chars(text.data.data, text.data.length)
        elif node.type == NODE_ELEMENT:
            if <size_t> node == body:
                in_body = True
            flags = _flags(node)
            if flags & T_JUNK and junk == NULL:
                junk = node
            if flags & T_BASE and not found_base:
                href = _attribute(node, "href", 4, &present)
                found_base = present
            if _dated(node, flags):
                candidates.append(_element(node))
            if titles[0] == NULL or titles[1] == NULL or titles[2] == NULL or titles[3] == NULL:
                _title_candidate(node, flags, titles)
            if junk == NULL:
                if flags & T_LAYOUT and open_tables.size:
                    bits = open_tables.actions[open_tables.size - 1]
                    open_tables.actions[open_tables.size - 1] |= (
                        LAYOUT_FOUND if containers == bits >> 2 else LAYOUT_MAYBE)
                if flags & T_JUNK_CONTAINER:
                    containers += 1
            if flags & T_TABLE:
                open_tables.push(node, containers << 2)
        if node.first_child != NULL:
            node = node.first_child
            continue
        while node != NULL:  # leave the node's subtree, and its parents' that end with it
            if node.type == NODE_ELEMENT and (open_tables.size or containers):
                flags = _flags(node)
                if flags & T_TABLE and open_tables.size and open_tables.nodes[open_tables.size - 1] == node:
                    open_tables.size -= 1
                    bits = open_tables.actions[open_tables.size]
                    tables[<size_t> node] = bits & 3
                    if open_tables.size:  # the enclosing table holds what this one does
                        parent = open_tables.actions[open_tables.size - 1]
                        if bits & LAYOUT_FOUND:
                            open_tables.actions[open_tables.size - 1] |= (
                                LAYOUT_FOUND if bits >> 2 == parent >> 2 else LAYOUT_MAYBE)
                        open_tables.actions[open_tables.size - 1] |= bits & LAYOUT_MAYBE
                if flags & T_JUNK_CONTAINER and junk == NULL:
                    containers -= 1
            if node == junk:
                junk = NULL
            if <size_t> node == body and root != body:
                in_body = False
            if node.next != NULL:
                node = node.next
                break
            node = node.parent
            if node == top:
                node = NULL
    return href, candidates, page_chars, tables, tuple([_element(titles[i]) for i in range(4)])


cdef void _title_candidate(il_node_t *node, unsigned int flags, il_node_t **titles) noexcept:
    """Keep ``node`` where it is the first match, in document order, of find_title's queries:
    ``title``, ``meta[property="og:title"]``, ``meta[name="twitter:title"]``, ``h1`` (values
    compared exactly, as lexbor's selectors do; in any namespace, so an svg <title> too)."""
    cdef il_attr_t *attr
    cdef size_t length = 0
    cdef const unsigned char *name
    if node.local_name == _title_id:
        if titles[0] == NULL:
            titles[0] = node
    elif node.local_name == _h1_id:
        if titles[3] == NULL:
            titles[3] = node
    elif flags & T_META:
        attr = (<il_element_t*> node).first_attr
        while attr != NULL:
            name = _attr_name(attr, &length)
            if name != NULL:
                if titles[1] == NULL and _equal(name, length, "property", 8) and _value_is(attr, "og:title", False):
                    titles[1] = node
                elif titles[2] == NULL and _equal(name, length, "name", 4) and _value_is(attr, "twitter:title", False):
                    titles[2] = node
            attr = attr.next


cdef object _element(il_node_t *node):
    """An Element for ``node``, or None for NULL."""
    cdef Element element
    if node == NULL:
        return None
    element = Element.__new__(Element)
    element.node = node
    return element


cdef Py_ssize_t _MAX_NOTICE_CHARS = MAX_LEGAL_NOTICE_CHARS


cdef bint _not_a_notice(str text) noexcept:
    """not boilerplate.may_be_legal_notice(text), in C: the text is too long, or holds none of
    "copyr", "(c)", "all r" in any ASCII case (no other character lower-cases to their
    letters), "©", "所有", "备", "证", "證"."""
    cdef Py_ssize_t i, n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef unsigned int c
    if n > _MAX_NOTICE_CHARS:
        return True
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if 65 <= c <= 90:
            c += 32
        if c == 99 and _lower_is(kind, data, i + 1, n, "opyr"):  # c
            return False
        if c == 40 and _lower_is(kind, data, i + 1, n, "c)"):  # (
            return False
        if c == 97 and _lower_is(kind, data, i + 1, n, "ll r"):  # a
            return False
        if c == 0xA9 or c == 0x5907 or c == 0x8BC1 or c == 0x8B49:  # © 备 证 證
            return False
        if c == 0x6240 and i + 1 < n and PyUnicode_READ(kind, data, i + 1) == 0x6709:  # 所有
            return False
    return True


cdef inline bint _lower_is(int kind, void *data, Py_ssize_t at, Py_ssize_t n, const char *word) noexcept:
    """``text[at:]`` starts with ``word`` (lower-case letters, ')' and ' ') in any ASCII case."""
    cdef Py_ssize_t k = 0
    cdef unsigned int c
    while word[k] != 0:
        if at + k >= n:
            return False
        c = PyUnicode_READ(kind, data, at + k)
        if 65 <= c <= 90:
            c += 32
        if c != <unsigned char> word[k]:
            return False
        k += 1
    return True


cdef class _Stack:
    """The open elements of the walk and their exit actions (pages nest thousands deep)."""
    cdef il_node_t **nodes
    cdef int *actions
    cdef Py_ssize_t size, capacity

    def __dealloc__(self):
        free(self.nodes)
        free(self.actions)

    cdef int push(self, il_node_t *node, int actions) except -1:
        cdef Py_ssize_t capacity
        if self.size == self.capacity:
            capacity = max(64, 2 * self.capacity)
            nodes = <il_node_t**> realloc(self.nodes, capacity * sizeof(il_node_t*))
            if nodes == NULL:
                raise MemoryError()
            self.nodes = nodes
            codes = <int*> realloc(self.actions, capacity * sizeof(int))
            if codes == NULL:
                raise MemoryError()
            self.actions = codes
            self.capacity = capacity
        self.nodes[self.size] = node
        self.actions[self.size] = actions
        self.size += 1
        return 0


cdef class NativeWalk:
    """One walk: html._Walker's walk, enter and leave, over lexbor structs. Results go into
    the given walker's blocks, depths, parents, signatures, semantic, named_boilerplate and
    containers, which html.py's selection reads."""

    cdef str base_url
    cdef double wrapper_chars
    cdef list blocks, depths, parents, signatures, semantic, ancestors, kinds, tables
    cdef list captions
    # The current block's raw text: its text nodes' UTF-8 bytes, <br>s and cell separators,
    # collapsed and decoded once when the block ends (flush).
    cdef unsigned char *text
    cdef size_t text_length, text_capacity
    cdef set named_boilerplate, containers
    cdef dict table_layout  # scan's LAYOUT_* bits per table, or None
    cdef Py_ssize_t boilerplate_depth, link_chars, link_depth, pre_depth, article_depth
    cdef object block_type, image_node, name_signals, hiding_style
    cdef frozenset boilerplate_roles

    def __init__(self, walker):
        h = _html
        self.base_url = walker.base_url
        self.wrapper_chars = walker.wrapper_chars
        self.blocks = walker.blocks
        self.depths = walker.depths
        self.parents = walker.parents
        self.signatures = walker.signatures
        self.semantic = walker.semantic
        self.named_boilerplate = walker.named_boilerplate
        self.containers = walker.containers
        self.ancestors, self.kinds, self.tables, self.captions = [], [], [], []
        self.block_type = h._Block
        self.image_node = h.image_node
        self.name_signals = h.name_signals
        self.hiding_style = hiding_style
        self.boilerplate_roles = BOILERPLATE_ROLES

    # -- blocks ------------------------------------------------------------------------
    def __dealloc__(self):
        free(self.text)

    cdef int add_text(self, const unsigned char *data, size_t length) except -1:
        cdef size_t capacity
        cdef unsigned char *grown
        if self.text_length + length > self.text_capacity:
            capacity = max(4096, 2 * (self.text_length + length))
            grown = <unsigned char*> realloc(self.text, capacity)
            if grown == NULL:
                raise MemoryError()
            self.text, self.text_capacity = grown, capacity
        memcpy(self.text + self.text_length, data, length)
        self.text_length += length
        return 0

    cdef int flush(self) except -1:
        if not self.text_length:
            return 0
        link_chars, self.link_chars = self.link_chars, 0
        kind = self.kinds[-1] if self.kinds else _html.PARAGRAPH
        if self.pre_depth:
            text = _html._preformatted(_decode(self.text, self.text_length))
        else:
            text = _decode(self.text, _collapse(self.text, self.text_length))
        self.text_length = 0
        if kind == _html.TABLE:
            text = text.strip(" |")
        if text:
            block = self.block_type(kind, text, link_chars, tuple(self.ancestors), None, self.boilerplate_depth > 0)
            if _not_a_notice(text):
                block._notice = False  # else the block looks it up when asked, as the Python walk's do
            self.blocks.append(block)
        return 0

    cdef int add_image(self, image) except -1:
        if image is None:
            return 0
        self.flush()
        if self.captions and image.caption is None:
            image.caption = self.captions[-1]
        self.blocks.append(self.block_type(
            _html.IMAGE, "", 0, tuple(self.ancestors), image, self.boilerplate_depth > 0
        ))
        return 0

    # -- walk --------------------------------------------------------------------------
    cdef int walk(self, il_node_t *top) except -1:
        cdef _Stack stack = _Stack()
        cdef il_node_t *node = top.first_child
        cdef il_node_t *child
        cdef il_character_data_t *data
        cdef unsigned int flags
        cdef int actions
        while node != NULL:
            if node.local_name == TAG_TEXT:
                if node.type == NODE_TEXT:
                    data = <il_character_data_t*> node
                    # Whitespace between tags opens no block (most text nodes of a page are such).
                    if data.data.data != NULL and data.data.length and (
                        self.text_length or not _all_space(data.data.data, data.data.length)
                    ):
                        self.add_text(data.data.data, data.data.length)
                        if self.link_depth:
                            self.link_chars += _stripped_chars(data.data.data, data.data.length)
            else:
                flags = _flags(node)
                if flags & (T_JUNK | T_JUNK_CONTAINER):
                    # Removed by html.py before its walk, or unwrapped: its children walked
                    # as if they were its parent's.
                    actions = -1 if _removed(node, self.wrapper_chars) else 0
                elif flags:
                    actions = self.enter_element(node, flags)
                else:
                    actions = -1
                if actions >= 0:
                    child = node.first_child
                    if child != NULL:
                        stack.push(node, actions)
                        node = child
                        continue
                    if actions:
                        self.leave(actions)
            while node.next == NULL and stack.size:
                stack.size -= 1
                node = stack.nodes[stack.size]
                if stack.actions[stack.size]:
                    self.leave(stack.actions[stack.size])
            node = node.next
        self.flush()
        return 0

    cdef int enter_element(self, il_node_t *node, unsigned int flags) except -2:
        """The exit actions of an element to walk into, or -1 when its subtree is not walked."""
        cdef bint has_attrs = (<il_element_t*> node).first_attr != NULL
        cdef Attrs attrs
        if flags & T_BR:
            self.add_text(<const unsigned char*> "\n", 1)
            return -1
        if flags & T_IMG:
            self.add_image(self.image_node(_attributes(node), self.base_url))
            return -1
        if flags & T_PICTURE:
            self.add_picture(node)
            return -1
        if not has_attrs and not flags & T_ACTIVE:
            return 0
        _read_attrs(node, &attrs)
        # Only a hidden, style or role attribute can make is_skipped say yes to other tags.
        if flags & T_SKIP_CHECKED or attrs.may_hide:
            if self.is_skipped(node, flags, has_attrs, &attrs):
                if flags & T_BLOCK:
                    self.flush()
                return -1
        return self.open_element(node, flags, &attrs)

    cdef int add_picture(self, il_node_t *node) except -1:
        cdef il_node_t *source = node.first_child
        cdef bint has_lazy = False, has_plain = False
        srcset = None
        while source != NULL:  # css_first("source[srcset], source[data-srcset]")
            if source.type == NODE_ELEMENT and _flags(source) & T_SOURCE:
                lazy = _attribute(source, "data-srcset", 11, &has_lazy)
                plain = _attribute(source, "srcset", 6, &has_plain)
                if has_lazy or has_plain:
                    srcset = lazy or plain
                    break
            source = _next_in(source, node, self.wrapper_chars)
        img = _first(node, T_IMG, self.wrapper_chars)
        attrs = _attributes(img) if img != NULL else {}
        self.add_image(self.image_node(attrs, self.base_url, picture_srcset=srcset))
        return 0

    cdef bint is_skipped(self, il_node_t *node, unsigned int flags, bint has_attrs, Attrs *attrs) except -1:
        """Hidden, or boilerplate by tag or role: the whole subtree is left out (html.py's
        is_hidden and is_boilerplate_role, read from ``attrs``)."""
        if flags & T_FIGCAPTION and self.captions:
            return True  # already on the figure's image node
        if not has_attrs and not flags & (T_BOILERPLATE | T_HEADER):
            return False
        if attrs.hidden:
            return True
        if attrs.style != NULL:
            style = _value(attrs.style)
            if style and self.hiding_style(style):
                return True
        boilerplate = flags & T_BOILERPLATE or (flags & T_HEADER and not self.article_depth)
        if not boilerplate and attrs.role != NULL:
            role = _value(attrs.role)
            boilerplate = bool(role) and role.strip().lower() in self.boilerplate_roles
        return boilerplate and not _text_of(node, None, self.wrapper_chars) > self.wrapper_chars

    cdef int open_element(self, il_node_t *node, unsigned int flags, Attrs *attrs) except -1:
        """Note an element the walk goes into; returns what leave must undo."""
        cdef bint named_boilerplate = False, main_name = False
        cdef bint in_data_table, is_block
        cdef int actions = 0
        cls = _value(attrs.cls) if attrs.cls != NULL else None
        if attrs.cls != NULL or attrs.ident != NULL:
            ident = _value(attrs.ident) if attrs.ident != NULL else None
            if cls or ident:
                boilerplate_name, main = self.name_signals(cls, ident)
                main_name = main
                named_boilerplate = boilerplate_name and not flags & T_NEVER_BOILERPLATE
        in_data_table = bool(self.tables) and self.tables[-1]
        is_block = flags & T_BLOCK and not (in_data_table and flags & T_CELL)
        if is_block or named_boilerplate:
            actions = self.open_block(node, flags, cls, attrs, is_block, named_boilerplate, main_name)
        if flags & T_A:  # the commonest element of most pages: spared the tests below
            self.link_depth += 1
            return actions | A_LINK
        if flags & T_STRUCTURE:
            actions |= self.open_structure(node, flags, in_data_table)
        return actions

    cdef int open_block(self, il_node_t *node, unsigned int flags, cls, Attrs *attrs,
                        bint is_block, bint named_boilerplate, bint main_name) except -1:
        """Give the element an id (an ancestor of the blocks inside it); a block element ends
        the current block."""
        cdef int actions = A_ANCESTOR
        cdef Py_ssize_t element_id
        if is_block:
            if self.text_length:
                self.flush()
            actions |= A_BLOCK
        ancestors = self.ancestors
        element_id = len(self.depths)
        self.depths.append(len(ancestors))
        self.parents.append(ancestors[-1] if ancestors else -1)
        self.signatures.append(f"{_name_of(node)}.{cls or ''}" if flags & T_ITEM else None)
        ancestors.append(element_id)
        if flags & T_CONTAINER:
            self.containers.add(element_id)
        if named_boilerplate:
            self.flush()
            self.named_boilerplate.add(element_id)
            self.boilerplate_depth += 1
            actions |= A_NAMED
        elif self.is_semantic(flags, attrs, main_name):
            self.semantic.append(element_id)
        return actions

    cdef bint is_semantic(self, unsigned int flags, Attrs *attrs, bint main_name) except -1:
        """html._Walker.is_semantic."""
        if main_name or flags & T_SEMANTIC:
            return True
        if attrs.role != NULL and _value(attrs.role) == "main":
            return True
        return attrs.itemprop != NULL and (_value(attrs.itemprop) or "").lower() == "articlebody"

    cdef int open_structure(self, il_node_t *node, unsigned int flags, bint in_data_table) except -1:
        """Article, preformatted, table, figure, table-part and block-kind state."""
        cdef int actions = 0
        if flags & T_TABLE_PART:  # rows and cells, the commonest: none of the tests below
            if not in_data_table:
                return 0
            if flags & T_TR:
                self.kinds.append(_html.TABLE)
                return A_KIND
            if self.text_length:
                self.add_text(<const unsigned char*> CELL_SEPARATOR, 3)  # html.CELL_SEPARATOR
            return 0
        if flags & T_SEMANTIC:
            self.article_depth += 1
            actions |= A_ARTICLE
        if flags & T_PRE:
            self.pre_depth += 1
            actions |= A_PRE
        elif flags & T_TABLE:
            self.tables.append(self.is_data_table(node))
            actions |= A_TABLE
        elif flags & T_FIGURE:
            actions |= self.open_figure(node)
        if flags & T_KIND:
            self.kinds.append(_static_kinds[node.local_name])
            actions |= A_KIND
        return actions

    cdef bint is_data_table(self, il_node_t *node) except -1:
        """No layout element below the table (html.py's ``css_first(LAYOUT_TABLE_SELECTOR)``
        on the walked tree), searched only when scan's bits leave it open."""
        if self.tables and self.tables[-1]:
            return True  # inside a data table: its subtree is part of that one's
        cdef int bits = LAYOUT_MAYBE
        if self.table_layout is not None:
            bits = self.table_layout.get(<size_t> node, LAYOUT_MAYBE)
        if bits & LAYOUT_FOUND:
            return False
        if not bits:
            return True
        return _first(node, T_LAYOUT, self.wrapper_chars) == NULL

    cdef int open_figure(self, il_node_t *node) except -1:
        if _first(node, T_FIGURE_MEDIA, self.wrapper_chars) == NULL:
            return 0  # a figure around a quote or code: walk it like any block
        figcaption = _first(node, T_FIGCAPTION, self.wrapper_chars)
        caption = _html.collapse_whitespace(_text(figcaption, self.wrapper_chars)) if figcaption != NULL else ""
        self.captions.append(caption.replace("\n", " ") or None)
        return A_FIGURE

    cdef int leave(self, int actions) except -1:
        if actions & (A_BLOCK | A_NAMED) and self.text_length:
            self.flush()
        if actions & A_ANCESTOR:
            self.ancestors.pop()
        if actions & A_KIND:
            self.kinds.pop()
        if actions & A_LINK:
            self.link_depth -= 1
        if actions & A_RARE:
            if actions & A_PRE:
                self.pre_depth -= 1
            if actions & A_ARTICLE:
                self.article_depth -= 1
            if actions & A_TABLE:
                self.tables.pop()
            if actions & A_FIGURE:
                self.captions.pop()
            if actions & A_NAMED:
                self.boilerplate_depth -= 1
        return 0


def walk(walker, size_t mem_id, dict tables=None) -> None:
    """Walk the subtree of the node at ``LexborNode.mem_id`` into ``walker`` (an html._Walker);
    ``tables``: what ``scan`` found of the page's tables. Call only when ``link()`` said yes."""
    _module()
    cdef NativeWalk native = NativeWalk(walker)
    native.table_layout = tables
    native.walk(<il_node_t*> mem_id)
