"""What a username may be: one person's name must not pass for another's.

A username is stored in Unicode normalization form NFKC, so compatibility look-alikes become
the ordinary characters (fullwidth ``dup``, U+FF44 U+FF55 U+FF50, is ``dup``; the ``fi``
ligature is ``fi``) and compare (case-insensitively) equal to the name they imitate; login
normalizes what is typed the same way. Then, as UTS #39 (Unicode Security Mechanisms) advises
and identity providers do, a name that mixes scripts (``admin`` with a Cyrillic ``a``, U+0430)
is refused, and so is a name in another script made only of letters that look Latin (``pop``
in Cyrillic, U+0440 U+043E U+0440). The script and confusable data are Unicode's own
(``confusables.txt``, ``Scripts.txt``) as packaged by ``confusable_homoglyphs``: keeping those
tables by hand would mean following every Unicode release.
"""

from __future__ import annotations

import re
import unicodedata

from confusable_homoglyphs import categories, confusables

ALLOWED = re.compile(r"^[\w.+-]+$")


def canonical(name: str) -> str:
    """The stored form of a username (NFKC), or ``ValueError`` saying why it is refused."""
    value = unicodedata.normalize("NFKC", name)
    if not ALLOWED.match(value):
        raise ValueError("letters, digits and . + - _ only")
    scripts = categories.unique_aliases(value) - {"COMMON", "INHERITED"}
    if len(scripts) > 1:
        raise ValueError("a username may not mix scripts (it could pass for another one)")
    if scripts and scripts != {"LATIN"}:
        letters = [c for c in value if categories.alias(c) not in ("COMMON", "INHERITED")]
        if all(confusables.is_confusable(c, preferred_aliases=["latin"]) for c in letters):
            raise ValueError("this username looks like a Latin one it is not")
    return value


def login_key(login: str) -> str:
    """What a login is looked up by: the same normalization, lower-cased."""
    return unicodedata.normalize("NFKC", login).strip().lower()
