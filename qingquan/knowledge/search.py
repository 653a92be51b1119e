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


def weights(title: str, body: str) -> dict[str, int]:
    """Token -> weight for the index: title tokens count TITLE_WEIGHT, body occurrences one
    each up to MAX_BODY_WEIGHT."""
    counted = Counter(tokens(body))
    result = {token: min(n, MAX_BODY_WEIGHT) for token, n in counted.items()}
    for token in set(tokens(title)):
        result[token] = result.get(token, 0) + TITLE_WEIGHT
    return result


def query_tokens(text: str) -> list[str]:
    """Distinct tokens of a query, in order."""
    return list(dict.fromkeys(tokens(text)))
