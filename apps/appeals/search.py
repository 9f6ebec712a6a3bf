"""Chinese full-text search without a segmenter: character bigrams.

Chinese has no spaces, and the appeals' words are mostly two characters (噪音, 停水,
物业). Indexing every pair of adjacent characters (the CJK bigram approach of Lucene's
CJKAnalyzer) finds any word of two or more characters. `search_text` stores the bigrams
space-separated; on PostgreSQL a GIN index on to_tsvector('simple', search_text) answers
"all these bigrams" in milliseconds; elsewhere the search falls back to LIKE.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[^\w]+", re.UNICODE)
MAX_TOKENS = 2000  # long letters: the first few thousand bigrams say what they are about


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def tokens(text: str) -> list[str]:
    """Bigrams of CJK runs, whole lower-cased words otherwise (numbers, Latin words)."""
    out: list[str] = []
    for chunk in _SPLIT.split(text or ""):
        run = ""
        for ch in chunk + " ":
            if _is_cjk(ch):
                run += ch
                continue
            if run:
                out.extend(run[i : i + 2] for i in range(max(len(run) - 1, 1)))
                run = ""
        latin = "".join(" " if _is_cjk(c) else c for c in chunk).split()
        out.extend(w.lower() for w in latin if w)
    return out


def index_text(*parts: str) -> str:
    seen, ordered = set(), []
    for token in tokens(" ".join(p for p in parts if p)):
        if token not in seen:
            seen.add(token)
            ordered.append(token)
        if len(ordered) >= MAX_TOKENS:
            break
    return " ".join(ordered)


def query_tokens(query: str) -> list[str]:
    """Tokens a search must all match; single CJK characters are dropped (too common)."""
    return [t for t in dict.fromkeys(tokens(query)) if len(t) > 1 or not _is_cjk(t)]
