"""``auto``: the model a user can trust without knowing the models.

Without manual labels (fewer than :data:`MIN_MANUAL` labeled records) it is ``guarded``: majority vote, corrected by
the generative model only on ties and where that model is sure, so it never falls more than noise below majority vote
while keeping most of what the richer model gains (docs/weak-supervision.md, synthetic suite and WRENCH valid splits).

With manual labels, ``guarded`` stays the champion and every other model is a challenger: each is scored by k-fold
cross-validation on the labels (per record: right or not), and a challenger replaces the champion only when it is
better by more than :data:`Z` standard errors of the paired per-record difference — labels that cannot tell models
apart change nothing, so labels never make the result worse by noise. The metric is the task's: a two-class task
whose labels hold less than :data:`RARE_SHARE` of one class is ranked by that class's F1 (a paired bootstrap gives
the bound), and a challenger must also be no worse in accuracy — on WRENCH sms, ``semi`` gained 4.4 points of
cross-validated accuracy by almost never saying spam (F1 of spam 0.0 against 2.2), and lost 0.76 F1 on test.
When the labeled records differ from the others in which heuristics vote on them (a user labeled one heuristic's
hits, say), what the labels show about the models need not hold for the rest: the champion is kept unless a
challenger wins by :data:`SHIFT_MARGIN` as well.
The labels are weighted to the unlabeled records (``shift.py``: vote patterns, and class mix), but the unlabeled
records' class mix is not known: the labels' own mix is right for a random sample, the mix ``guarded`` predicts is
right where ``guarded`` is unbiased, and neither is safe alone (the predicted mix alone let ``refinery`` win on
``correlated_good`` seed 1, where ``guarded`` says class 0 for 11 % of records that are 34 % class 0, and lose 1.74
points; the labels' mix alone let ``semi_em`` win on ``class_shifted_labels`` at half size, seed 0, and lose 24
points). So a challenger must win by :data:`Z` standard errors under **both**, and is ranked by the worse of its two
bounds.
The result's details name the model used and why, with the scores and the shift check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import guarded, shift
from .base import FloatArray, IntArray, Manual, ModelOptions, Prediction, Votes

MIN_MANUAL = 20  # fewer valid manual labels than this cannot rank models
FOLDS = 5
Z = 2.0  # standard errors by which a challenger must beat the champion
SHIFT_MARGIN = 0.05  # with shifted labels, a challenger must also win by 5 points of accuracy
SHIFT_EFFECT = 0.15  # a heuristic voting on this much more (or less) of the labeled records than of the others …
SHIFT_Z = 4.0  # … and significantly so, marks the labeled records as shifted
CHAMPION = "guarded"
RARE_SHARE = 0.3  # a two-class task whose labels hold less of one class than this is ranked by that class's F1
BOOTSTRAP = 400  # paired bootstrap resamples for the F1 bound

FitPredict = Callable[[Votes, Manual, ModelOptions], Prediction]


def cross_validated_predictions(fit: FitPredict, votes: Votes, manual: Manual, options: ModelOptions) -> IntArray:
    """Per labeled record (in ``np.unique(manual.rows)`` order): the class the model fitted without the record's fold
    gives it, ``-1`` where it gives none or a tie."""
    rng = np.random.default_rng(options.seed)
    rows = np.unique(manual.rows)
    fold_of = rng.permutation(len(rows)) % FOLDS
    fold_of_row = np.full(votes.n_records, -1)
    fold_of_row[rows] = fold_of
    predicted = np.full(len(rows), -1, dtype=np.int64)
    for fold in range(FOLDS):
        held = fold_of == fold
        if not held.any():
            continue
        prediction = fit(votes, manual.select(fold_of_row[manual.rows] != fold), options)
        test_rows = rows[held]
        best, _ = prediction.winners()
        top2 = np.sort(prediction.proba, axis=1)[:, -2:] if votes.n_classes > 1 else None
        untied = np.ones(votes.n_records, dtype=bool) if top2 is None else top2[:, 1] - top2[:, 0] > 1e-9
        answered = prediction.labeled[test_rows] & untied[test_rows]
        predicted[held] = np.where(answered, best[test_rows], -1)
    return predicted


def cross_validated_correct(fit: FitPredict, votes: Votes, manual: Manual, options: ModelOptions) -> NDArray[np.bool_]:
    """Per labeled record (in ``np.unique(manual.rows)`` order): whether the model fitted without the record's fold
    gives it its manual label (no label or a tie counts as wrong)."""
    rows = np.unique(manual.rows)
    gold = np.zeros((votes.n_records, votes.n_classes), dtype=bool)
    gold[manual.rows, manual.classes] = True
    predicted = cross_validated_predictions(fit, votes, manual, options)
    return np.asarray((predicted >= 0) & gold[rows, np.maximum(predicted, 0)])


def selection_metric(votes: Votes, manual: Manual) -> int | None:
    """The class whose F1 ranks the models — the rare class of a two-class task whose labels hold less than
    :data:`RARE_SHARE` of it (as WRENCH scores sms: F1 of spam) — or None: accuracy ranks them."""
    if votes.n_classes != 2:
        return None
    first = manual.dense(votes.n_records)[np.unique(manual.rows)]
    shares = np.bincount(first, minlength=2) / max(len(first), 1)
    rare = int(np.argmin(shares))
    return rare if shares[rare] < RARE_SHARE else None


def weighted_f1(predicted: IntArray, gold: IntArray, positive: int, weights: FloatArray) -> FloatArray:
    """F1 of class ``positive`` under each row of ``weights`` (``B × n``, or one vector): weighted counts."""
    hit = (predicted == positive) & (gold == positive)
    said = predicted == positive
    real = gold == positive
    tp = weights @ hit.astype(np.float64)
    denominator = weights @ said.astype(np.float64) + weights @ real.astype(np.float64)
    return np.asarray(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-300), 0.0), dtype=np.float64)


def f1_lower_bound(
    challenger: IntArray, champion: IntArray, gold: IntArray, positive: int, weights: FloatArray, seed: int
) -> tuple[float, float]:
    """The challenger's F1 gain over the champion (importance-weighted) and its paired bootstrap lower bound
    (:data:`BOOTSTRAP` resamples, the quantile ``Φ(−Z)``: the same one-sided level as ``Z`` standard errors)."""
    gain = float(weighted_f1(challenger, gold, positive, weights) - weighted_f1(champion, gold, positive, weights))
    rng = np.random.default_rng([seed, 47])
    resampled = rng.poisson(1.0, size=(BOOTSTRAP, len(gold))) * weights[None, :]
    diffs = weighted_f1(challenger, gold, positive, resampled) - weighted_f1(champion, gold, positive, resampled)
    level = 0.5 * math.erfc(Z / math.sqrt(2))
    return gain, float(np.quantile(diffs, level))


def label_shift(votes: Votes, manual: Manual) -> dict[str, Any]:
    """Do the labeled records differ from the others in which heuristics vote on them? Per heuristic, the share of
    labeled and of unlabeled records it votes on; shifted when one differs by ``SHIFT_EFFECT`` with ``|z| > SHIFT_Z``."""
    labeled = np.zeros(votes.n_records, dtype=bool)
    labeled[manual.rows] = True
    n1, n2 = int(labeled.sum()), int((~labeled).sum())
    if n1 == 0 or n2 == 0 or votes.n_sources == 0:
        return {"shifted": False}
    fired = np.zeros((votes.n_records, votes.n_sources), dtype=bool)
    fired[votes.rows, votes.sources] = True
    p1, p2 = fired[labeled].mean(axis=0), fired[~labeled].mean(axis=0)
    pooled = fired.mean(axis=0)
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / n1 + 1 / n2), 1e-12))
    z = (p1 - p2) / se
    effect = np.abs(p1 - p2)
    flagged = (effect >= SHIFT_EFFECT) & (np.abs(z) > SHIFT_Z)
    worst = int(np.argmax(np.where(flagged, effect, -1.0))) if flagged.any() else int(np.argmax(effect))
    return {
        "shifted": bool(flagged.any()),
        "heuristics_shifted": int(flagged.sum()),
        "largest": {"heuristic": worst, "labeled_share": round(float(p1[worst]), 4), "other_share": round(float(p2[worst]), 4)},
    }


def fit_predict(votes: Votes, manual: Manual, options: ModelOptions, candidates: dict[str, FitPredict]) -> Prediction:
    """The champion without enough labels; with labels, a challenger only when it is clearly better (see above)."""
    n_rows = len(np.unique(manual.rows)) if len(manual) else 0
    if n_rows < MIN_MANUAL:
        prediction = guarded.fit_predict(votes, manual, options)
        reason = f"{n_rows} valid manual labels (< {MIN_MANUAL}, too few to rank models): " + guarded.reason(prediction.details)
        prediction.details.update({"picked": CHAMPION, "reason": reason})
        return prediction
    every: dict[str, FitPredict] = {CHAMPION: guarded.fit_predict, **candidates}
    predicted = {name: cross_validated_predictions(fit, votes, manual, options) for name, fit in every.items()}
    rows = np.unique(manual.rows)
    gold_matrix = np.zeros((votes.n_records, votes.n_classes), dtype=bool)
    gold_matrix[manual.rows, manual.classes] = True
    correct = {name: (p >= 0) & gold_matrix[rows, np.maximum(p, 0)] for name, p in predicted.items()}
    champion = every[CHAMPION](votes, Manual.empty(), options)
    unlabeled = champion.labeled.copy()
    unlabeled[manual.rows] = False
    mix = np.bincount(champion.proba[unlabeled].argmax(axis=1), minlength=votes.n_classes) + 1.0
    weightings, support, density_summary = shift.density_weightings(votes, manual, options.seed, mix / mix.sum())
    weights = weightings[shift.PREDICTED_MIX]
    scores = {name: round(float((weights * c).sum() / weights.sum()), 4) for name, c in correct.items()}
    plain = weightings[shift.LABELED_MIX]
    scores_labeled_mix = {name: round(float((plain * c).sum() / plain.sum()), 4) for name, c in correct.items()}
    label_scores = {name: round(float(c.mean()), 4) for name, c in correct.items()}
    shifted = label_shift(votes, manual)
    margin = SHIFT_MARGIN if shifted["shifted"] else 0.0
    positive = selection_metric(votes, manual)
    gold = manual.dense(votes.n_records)[rows]
    f1_scores: dict[str, float] = {}
    if positive is not None:
        f1_scores = {name: round(float(weighted_f1(p, gold, positive, weights)), 4) for name, p in predicted.items()}
    # the challenger must win under every estimate of the unlabeled records' class mix (see :func:`_gains`)
    by_weighting = {key: _gains(predicted, correct, gold, positive, w, options.seed) for key, w in weightings.items()}
    gains = {name: min(g[0][name] for g in by_weighting.values()) for name in every if name != CHAMPION}
    bounds = {name: min(g[1][name] for g in by_weighting.values()) for name in gains}
    accuracy_no_lower = {
        name: all(float((w * correct[name]).sum()) >= float((w * correct[CHAMPION]).sum()) for w in weightings.values())
        for name in gains
    }
    eligible = [
        name for name in bounds if bounds[name] > 0 and gains[name] > margin and (positive is None or accuracy_no_lower[name])
    ]
    picked = max(eligible, key=lambda name: (bounds[name], gains[name])) if eligible else CHAMPION
    metric = "accuracy" if positive is None else f"F1 of class {positive}"
    prediction = champion if picked == CHAMPION else every[picked](votes, manual, options)
    kept = 0
    if picked != CHAMPION:
        labeled = np.zeros(votes.n_records, dtype=bool)
        labeled[manual.rows] = True
        outside = ~labeled & (support < shift.MIN_SUPPORT)
        kept = int(outside.sum())
        if kept:
            prediction = _combine(prediction, champion, outside)
    effective = density_summary["effective_labels"]
    if picked == CHAMPION:
        reason = (
            f"no model beat {CHAMPION} clearly ({metric}) in {FOLDS}-fold cross-validation on {n_rows} labeled records"
            f" (weighted to the unlabeled records' vote patterns: worth {effective:g} labels; under both the labels'"
            f" class mix and the one {CHAMPION} predicts for the unlabeled records)"
            + (" (the labeled records differ from the others in which heuristics vote: labels trusted less)" if margin else "")
        )
    else:
        reason = (
            f"{picked} beat {CHAMPION} by {gains[picked]:.1%} ({metric}) in {FOLDS}-fold cross-validation on"
            f" {n_rows} labeled records, weighted to the unlabeled records' vote patterns (worth {effective:g} labels;"
            f" more than {Z:g} standard errors under both the labels' class mix and the one {CHAMPION} predicts for"
            " the unlabeled records"
            + ("" if positive is None else ", its accuracy no lower")
            + (f", and more than {SHIFT_MARGIN:.0%} as the labeled records are shifted)" if margin else ")")
            + (f"; {kept} records whose vote patterns the labeled records do not show keep {CHAMPION}'s answer" if kept else "")
        )
    prediction.details.update(
        {
            "picked": picked,
            "cv_accuracy": scores,
            "cv_accuracy_unweighted": label_scores,
            "cv_accuracy_labeled_mix": scores_labeled_mix,
            "selection_metric": metric,
            **({"cv_f1": f1_scores} if positive is not None else {}),
            "lower_bound_vs_champion": {name: round(b, 4) for name, b in bounds.items()},
            "lower_bound_by_class_mix": {key: {name: round(b, 4) for name, b in g[1].items()} for key, g in by_weighting.items()},
            "label_shift": shifted,
            "label_support": {**density_summary, "records_kept_from_champion": kept},
            "reason": reason,
        }
    )
    return prediction


def _gains(
    predicted: dict[str, IntArray],
    correct: dict[str, NDArray[np.bool_]],
    gold: IntArray,
    positive: int | None,
    weights: FloatArray,
    seed: int,
) -> tuple[dict[str, float], dict[str, float]]:
    """Every challenger's importance-weighted gain over the champion and its lower bound (:data:`Z` standard errors
    of the paired per-record difference; for a rare-class F1 a paired bootstrap) under one weighting of the labels."""
    gains: dict[str, float] = {}
    bounds: dict[str, float] = {}
    total = float(weights.sum())
    for name, c in correct.items():
        if name == CHAMPION:
            continue
        if positive is not None:
            gains[name], bounds[name] = f1_lower_bound(predicted[name], predicted[CHAMPION], gold, positive, weights, seed)
            continue
        diff = c.astype(np.float64) - correct[CHAMPION].astype(np.float64)
        mean = float((weights * diff).sum() / total)
        se = math.sqrt(float((weights**2 * (diff - mean) ** 2).sum())) / total if len(diff) > 1 else math.inf
        gains[name], bounds[name] = mean, mean - Z * se
    return gains, bounds


def _combine(prediction: Prediction, fallback: Prediction, rows: NDArray[np.bool_]) -> Prediction:
    """``prediction`` with ``fallback``'s answer (probabilities, labeled flag, confidence) on ``rows``."""
    proba = prediction.proba.copy()
    proba[rows] = fallback.proba[rows]
    labeled = prediction.labeled.copy()
    labeled[rows] = fallback.labeled[rows]
    confidence = None
    if prediction.confidence is not None or fallback.confidence is not None:
        mine = prediction.winners()[1].copy()
        mine[rows] = fallback.winners()[1][rows]
        confidence = mine
    return Prediction(proba, labeled, dict(prediction.details), confidence)
