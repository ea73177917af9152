"""Classifier throughput (issue: Q2Q): taxonomy-v1 on N feedback texts (default 100,000), the vectorized polars
classifier against a plain Python loop over the same texts in the same run. The loop is the strongest per-text
Python we could write — unicodedata normalisation, then the same 24 compiled patterns with `re` — about 6× faster
than the token-by-token reference `classify_text` (which the tests use as the oracle). Both must find the same
(text, dimension) rows. Target: vectorized ≥ 5× the loop."""

from __future__ import annotations

import re
import time
import unicodedata

import numpy as np
import polars as pl

from benchmarks.vis_bench import Row
from teei_pipelines.domain import q2q
from teei_pipelines.seed import FEEDBACK_PHRASES

FILLER = (
    "The session was on Tuesday and we covered a lot of ground together with the mentor from the programme, "
    "talking through next steps, questions and what to practise before we meet again."
)


def texts(n: int, seed: int = 42) -> list[str]:
    """Feedback of realistic length: one to three seed phrases mixed with filler, some accents and punctuation."""
    rng = np.random.default_rng(seed)
    phrases = [p for p in FEEDBACK_PHRASES if p] + ["Très bien, j'ai gagné en confiánce et en communication."]
    picks = rng.integers(0, len(phrases), size=(n, 3))
    counts = rng.integers(1, 4, size=n)
    return [" ".join([FILLER] + [phrases[j] for j in picks[i, : counts[i]]]) for i in range(n)]


def python_loop(corpus: list[str]) -> int:
    """Per text: normalise with unicodedata, count each keyword's pattern with `re`; returns the scored rows."""
    patterns = [
        (dimension.key, re.compile(q2q._keyword_pattern(keyword)))
        for dimension in q2q.TAXONOMY
        for keyword in dimension.keywords
    ]
    deleted = re.compile("[-'’]")
    scored = 0
    for text in corpus:
        decomposed = unicodedata.normalize("NFKD", text[: q2q.MAX_TEXT_CHARS])
        folded = deleted.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)).casefold())
        hits: dict[str, list[int]] = {}
        for dimension, pattern in patterns:
            count = len(pattern.findall(folded))
            if count:
                hits.setdefault(dimension, []).append(count)
        scored += len(hits)
        for counts in hits.values():
            q2q.score_dimension("", sum(counts), len(counts), ())
    return scored


def run(n: int) -> list[Row]:
    corpus = texts(n)
    frame = pl.DataFrame({"text_id": [str(i) for i in range(n)], "text": corpus})
    started = time.perf_counter()
    vectorized = q2q.classify_frame(frame)
    vectorized_s = time.perf_counter() - started
    started = time.perf_counter()
    loop_rows = python_loop(corpus)
    loop_s = time.perf_counter() - started
    if loop_rows != vectorized.height:
        raise AssertionError(f"vectorized gave {vectorized.height} rows, the loop {loop_rows}")
    return [
        Row(
            f"Q2Q taxonomy-v1 classifier, {n:,} texts",
            vectorized_s,
            "plain Python loop (unicodedata + re per text)",
            loop_s,
            "≥ 5×",
        )
    ]
