"""Publishers' AI opt-out signals: ``X-Robots-Tag: noai`` / ``noimageai``.

Any mention counts, whichever user agent it names (``otherbot: noimageai``): the header
states the publisher's wish about AI training, and we would rather skip an image than guess
that a rule aimed at another crawler was not meant for us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

OPT_OUT_DIRECTIVES = frozenset({"noai", "noimageai"})
_WORD_RE = re.compile(r"[a-z0-9_-]+")


def opts_out_of_ai(robots_tags: Iterable[str]) -> bool:
    """True when any X-Robots-Tag value carries a noai / noimageai directive."""
    for value in robots_tags:
        if OPT_OUT_DIRECTIVES.intersection(_WORD_RE.findall(value.lower())):
            return True
    return False
