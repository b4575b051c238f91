"""A hidden Markov model over BIO tags for extraction tasks (as in skweak), fitted without manual labels.

States: ``O`` and ``B-l`` / ``I-l`` per label (``I-l`` only after ``B-l`` or ``I-l``). Every heuristic emits a BIO tag at
every token (``O`` where it has no span), independently given the state, with its own ``S × S`` emission table: a
heuristic that stays silent on a token is evidence too, so a heuristic that never fires where the others do is learned
to be low-recall rather than counted against them. Fitted by Baum–Welch (MAP, Dirichlet pseudo-counts that start each
heuristic as mostly right), decoded by Viterbi; a span's confidence is the mean posterior of its tokens' tags.
Not the service's default: ``extraction.aggregate_spans`` (the reference's algorithm) is.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .extraction import AggregatedSpan, Spans
from .label_models.base import FloatArray, IntArray

PRIOR_ACCURACY = 0.8  # initial share of a heuristic's tags that equal the state (pseudo-counts)
PRIOR_STRENGTH = 50.0  # pseudo-tokens per (heuristic, state) of that initial table
ITERATIONS = 10
BATCH_CELLS = 4_000_000  # rows × longest length × states per padded batch (32 MB per float64 array)


def _tags(spans: Spans, n_tokens: IntArray, n_sources: int) -> tuple[IntArray, IntArray]:
    """``T × m`` BIO tag per token and heuristic (``0`` = O, ``1 + 2l`` = B-l, ``2 + 2l`` = I-l); row offsets."""
    offsets = np.concatenate([[0], np.cumsum(n_tokens)]).astype(np.int64)
    tags = np.zeros((int(offsets[-1]), n_sources), dtype=np.int64)
    for row, source, label, start, end in zip(spans.rows, spans.sources, spans.labels, spans.starts, spans.ends, strict=True):
        begin, stop = int(offsets[row] + start), int(offsets[row] + min(end, n_tokens[row]))
        if begin >= stop:
            continue
        tags[begin, source] = 1 + 2 * label
        tags[begin + 1 : stop, source] = 2 + 2 * label
    return tags, offsets


def _allowed(n_labels: int) -> NDArray[np.bool_]:
    """Which state may follow which: ``I-l`` only after ``B-l`` or ``I-l``."""
    s = 1 + 2 * n_labels
    allowed = np.ones((s, s), dtype=bool)
    for label in range(n_labels):
        inside = 2 + 2 * label
        allowed[:, inside] = False
        allowed[1 + 2 * label, inside] = allowed[inside, inside] = True
    return allowed


def _logsumexp(a: FloatArray, axis: int) -> FloatArray:
    top = a.max(axis=axis, keepdims=True)
    return np.asarray(np.log(np.exp(a - top).sum(axis=axis)) + np.squeeze(top, axis=axis))


def _padded(values: FloatArray, offsets: IntArray, lengths: IntArray, rows: IntArray) -> tuple[FloatArray, IntArray, IntArray]:
    """The ``rows``' per-token values (``T × S``) as ``len(rows) × their max length × S`` (zeros past a row's end);
    also, per token of these rows, its batch row and position (to map results back to the tokens)."""
    lens = lengths[rows]
    out = np.zeros((len(rows), int(lens.max(initial=1)), values.shape[1]))
    row_of = np.repeat(np.arange(len(rows)), lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    position = np.arange(len(row_of)) - starts[row_of]
    out[row_of, position] = values[offsets[rows][row_of] + position]
    return out, row_of, position


def _batches(lengths: IntArray, n_states: int) -> list[IntArray]:
    """Rows grouped by length (shortest first) so that each padded batch holds at most ``BATCH_CELLS`` values: one
    long record never makes every row as long as itself, and memory stays bounded whatever the records' lengths."""
    batches: list[IntArray] = []
    current: list[int] = []
    for row in np.argsort(lengths, kind="stable"):
        longest = max(int(lengths[row]), 1)
        if current and (len(current) + 1) * longest * n_states > BATCH_CELLS:
            batches.append(np.asarray(current, dtype=np.int64))
            current = []
        current.append(int(row))
    if current:
        batches.append(np.asarray(current, dtype=np.int64))
    return batches


def _forward_backward(
    obs: FloatArray, lengths: IntArray, log_t: FloatArray, log_start: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Token posteriors (``rows × L × S``, zero past the end) and expected transition counts, all rows at once."""
    n, length, s = obs.shape
    alpha = np.zeros_like(obs)
    beta = np.zeros_like(obs)
    alpha[:, 0] = log_start + obs[:, 0]
    for t in range(1, length):
        alpha[:, t] = _logsumexp(alpha[:, t - 1, :, None] + log_t[None], axis=1) + obs[:, t]
    for t in range(length - 2, -1, -1):
        step = _logsumexp(log_t[None] + (obs[:, t + 1] + beta[:, t + 1])[:, None, :], axis=2)
        beta[:, t] = np.where((t + 1 < lengths)[:, None], step, 0.0)
    log_z = alpha[np.arange(n), np.maximum(lengths - 1, 0)].copy()
    log_z = _logsumexp(log_z, axis=1)
    valid = np.arange(length)[None, :] < lengths[:, None]
    gamma = np.where(valid[:, :, None], np.exp(alpha + beta - log_z[:, None, None]), 0.0)
    transitions = np.zeros((s, s))
    for t in range(length - 1):
        pair = t + 1 < lengths
        if not pair.any():
            break
        xi = alpha[pair, t, :, None] + log_t[None] + (obs[pair, t + 1] + beta[pair, t + 1])[:, None, :]
        transitions += np.exp(xi - log_z[pair, None, None]).sum(axis=0)
    return gamma, transitions


def fit_decode(spans: Spans, n_tokens: IntArray, n_sources: int, n_labels: int) -> list[AggregatedSpan]:
    """Fit the HMM on all records and decode spans; ``n_tokens[row]`` is each record's token count."""
    s = 1 + 2 * n_labels
    lengths = np.asarray(n_tokens, dtype=np.int64)
    tags, offsets = _tags(spans, lengths, n_sources)
    allowed = _allowed(n_labels)
    prior_emission = np.full((s, s), (1.0 - PRIOR_ACCURACY) / (s - 1))
    np.fill_diagonal(prior_emission, PRIOR_ACCURACY)
    prior_emission *= PRIOR_STRENGTH  # [observed tag, state]
    emission = np.repeat(prior_emission[None, :, :] / PRIOR_STRENGTH, n_sources, axis=0)
    transition = np.where(allowed, 1.0, 0.0)
    transition /= transition.sum(axis=1, keepdims=True)
    start = np.where(allowed[0], 1.0, 0.0)  # a record starts like after O
    start /= start.sum()
    batches = _batches(lengths, s)
    result: list[AggregatedSpan] = []
    with np.errstate(divide="ignore"):
        for iteration in range(ITERATIONS + 1):
            log_obs = np.zeros((len(tags), s))
            for j in range(n_sources):
                log_obs += np.log(emission[j])[tags[:, j], :]
            log_t, log_start = np.log(transition), np.log(start)
            final = iteration == ITERATIONS
            emission_counts = np.zeros((n_sources, s, s))
            trans_counts = np.zeros((s, s))
            start_counts = np.zeros(s)
            for rows in batches:
                obs, row_of, position = _padded(log_obs, offsets, lengths, rows)
                gamma, transitions = _forward_backward(obs, lengths[rows], log_t, log_start)
                if final:
                    paths = _viterbi(obs, lengths[rows], log_t, log_start)
                    for i, row in enumerate(rows):
                        n = int(lengths[row])
                        result.extend(_spans_of(int(row), paths[i, :n], gamma[i, :n]))
                    continue
                flat = gamma[row_of, position]
                token_tags = tags[offsets[rows][row_of] + position]
                for j in range(n_sources):
                    np.add.at(emission_counts[j], token_tags[:, j], flat)
                trans_counts += transitions
                start_counts += gamma[:, 0].sum(axis=0)
            if final:
                break
            table = emission_counts + prior_emission[None]
            emission = table / table.sum(axis=1, keepdims=True)
            transition = np.where(allowed, trans_counts + 1.0, 0.0)
            transition /= transition.sum(axis=1, keepdims=True)
            start = np.where(allowed[0], start_counts + 1.0, 0.0)
            start /= start.sum()
    result.sort(key=lambda span: (span.row, span.start))
    return result


def _viterbi(obs: FloatArray, lengths: IntArray, log_t: FloatArray, log_start: FloatArray) -> IntArray:
    """Most likely state path per row (``rows × L``; entries past a row's end are meaningless)."""
    n, length, s = obs.shape
    score = log_start + obs[:, 0]
    back = np.zeros((n, length, s), dtype=np.int64)
    for t in range(1, length):
        candidates = score[:, :, None] + log_t[None]
        back[:, t] = candidates.argmax(axis=1)
        moved = candidates.max(axis=1) + obs[:, t]
        score = np.where((t < lengths)[:, None], moved, score)
    paths = np.zeros((n, length), dtype=np.int64)
    last = np.maximum(lengths - 1, 0)
    state = score.argmax(axis=1)
    rows = np.arange(n)
    for t in range(length - 1, -1, -1):
        at_end = t == last
        state = np.where(at_end, score.argmax(axis=1), state)
        paths[:, t] = state
        inside = t <= last
        state = np.where(inside & (t > 0), back[rows, t, state], state)
    return paths


def _spans_of(row: int, path: IntArray, gamma: FloatArray) -> list[AggregatedSpan]:
    found: list[AggregatedSpan] = []
    t = 0
    while t < len(path):
        state = int(path[t])
        if state == 0 or state % 2 == 0:  # O, or an I without its B (Viterbi never yields one)
            t += 1
            continue
        label = (state - 1) // 2
        end = t + 1
        while end < len(path) and path[end] == 2 + 2 * label:
            end += 1
        confidence = float(np.mean(gamma[np.arange(t, end), path[t:end]]))
        found.append(AggregatedSpan(row, label, t, end, confidence))
        t = end
    return found
