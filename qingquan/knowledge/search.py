"""Chinese-capable full-text search that works the same on SQLite and PostgreSQL.

Decision (see docs/architecture.md): neither database segments Chinese out of the box
(PostgreSQL's built-in text search splits on spaces; zhparser/pg_jieba are extensions we
cannot assume; SQLite FTS5's tokenizers do not segment CJK either). So the platform indexes
its own tokens:

* text is normalised (NFKC, so full-width letters and digits become ASCII; lower case);
* runs of CJK characters become overlapping character bigrams (水质 / 质检 / 检测 …), a
  lone CJK character stays a unigram;
* runs of letters and digits become one token each (e.g. "221", "ph", "ic").

Each article's tokens are stored in `ArticleToken` (indexed on `token`), with a weight
(title tokens count more). A query is tokenised the same way; articles are ranked by how
many distinct query tokens they contain, then by the summed weight. An article must match
at least half the query's tokens, so "阶梯水价怎么算" finds the 阶梯水价 article although
"怎么算" is not in it. Bigrams need no dictionary, never miss a word a dictionary lacks,
and the index stays small for a corpus of hundreds of articles.

Everyday words: bigrams cannot know that 爆了 and 爆裂, or 漏水 and 冒水, mean the same.
Supervisors keep synonym groups (`SynonymGroup`, /knowledge/synonyms/); every group is one
"concept" token (``≈<id>``). An article gets the concept token of every group one of whose
terms (of two characters or more) appears in its text, on top of its bigrams. In a query,
each term found (longest first) is replaced by its group's concept token, so "水管爆了"
asks for 水管's group and 爆's group, and finds "发现路面冒水、管道爆裂". Single-character
terms (表 for 水表) apply to queries only: in articles they would match inside any word.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
TITLE_WEIGHT = 5
MAX_BODY_WEIGHT = 5


def normalise(text: str) -> str:
    """NFKC and lower case: full-width ＡＢＣ１２３ become abc123."""
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str) -> list[str]:
    """Bigrams of CJK runs, whole words of letters/digits, in order (with repeats)."""
    result: list[str] = []
    for run in _RUNS.findall(normalise(text)):
        if run[0] >= "\u3400":
            if len(run) == 1:
                result.append(run)
            else:
                result.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            result.append(run)
    return result


# Words of a question that say nothing about its subject ("家里没水了吗" asks about 没水).
# Left out of query tokens only, so they never make an article miss the "half the
# tokens" bar; articles keep them.
QUERY_FILLERS = frozenset(
    [
        "了",
        "的",
        "吗",
        "呢",
        "啊",
        "吧",
        "呀",
        "哦",
        "么",
        "怎么",
        "什么",
        "为什",
        "这么",
        "那么",
        "怎样",
        "如何",
        "请问",
        "一下",
        "我家",
        "家里",
    ]
)

Synonyms = dict[str, str]  # normalised term -> its group's concept token


def concept_token(group_id: int) -> str:
    """The index token standing for every term of one synonym group."""
    return f"≈{group_id}"


def concepts(text: str, synonyms: Synonyms, *, min_length: int = 1) -> tuple[str, list[str]]:
    """The synonym terms in ``text`` (normalised; longest term first at each place): the
    text with each found term blanked out, and the concept tokens found, in order."""
    terms = sorted((t for t in synonyms if len(t) >= min_length), key=lambda t: (-len(t), t))
    if not terms:
        return text, []
    pattern = re.compile("|".join(map(re.escape, terms)))
    found = [synonyms[m.group()] for m in pattern.finditer(text)]
    return pattern.sub(" ", text), found


def _article_tokens(text: str, synonyms: Synonyms) -> list[str]:
    """Every bigram/word of an article's text, plus its synonym groups' concept tokens."""
    _rest, found = concepts(normalise(text), synonyms, min_length=2)
    return tokens(text) + found


def weights(title: str, body: str, synonyms: Synonyms | None = None) -> dict[str, int]:
    """Token -> weight for the index: title tokens count TITLE_WEIGHT, body occurrences one
    each up to MAX_BODY_WEIGHT (concept tokens of synonym groups alike)."""
    synonyms = synonyms or {}
    counted = Counter(_article_tokens(body, synonyms))
    result = {token: min(n, MAX_BODY_WEIGHT) for token, n in counted.items()}
    for token in set(_article_tokens(title, synonyms)):
        result[token] = result.get(token, 0) + TITLE_WEIGHT
    return result


def query_tokens(text: str, synonyms: Synonyms | None = None) -> list[str]:
    """Distinct tokens of a query, in order: each synonym term found becomes its group's
    concept token, the rest bigrams and words."""
    rest, found = concepts(normalise(text), synonyms or {})
    words = [t for t in tokens(rest) if t not in QUERY_FILLERS]
    return list(dict.fromkeys([*found, *words])) or query_tokens_literal(text)


def query_tokens_literal(text: str) -> list[str]:
    """Distinct tokens of a query as typed (when it is made of fillers only)."""
    return list(dict.fromkeys(tokens(text)))
