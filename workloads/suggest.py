"""Did-you-mean for names a user types (model names, workload kinds, built-in files).

Case mistakes come first (``Llama-2-13B`` → ``llama-2-13b``, ``Medusa`` → ``medusa``), then
near spellings by :func:`difflib.get_close_matches` on the lower-cased names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_match(name: str, names: Iterable[str]) -> str | None:
    """The known name ``name`` most likely meant, or ``None``."""
    names = list(names)
    folded = {n.casefold(): n for n in names}
    if name.casefold() in folded:
        return folded[name.casefold()]
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1)
    return folded[close[0]] if close else None


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    match = close_match(name, names)
    return f" (did you mean {match!r}?)" if match is not None and match != name else ""
