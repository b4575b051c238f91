"""``guarded``: majority vote, corrected by the generative model only where that model is sure and stable — the
safe default without manual labels.

Majority vote decides every row with a unique winner; the tie model (``tie_model.py``, below) breaks majority vote's
ties (restricted to the tied classes), and the generative model (``bayes.naive_bayes``, near-copy heuristics counted
once) overrides a decided row only
when its own posterior for another class is at least :data:`OVERRIDE_CONFIDENCE` — and only when the overrides are a
property of the data rather than of the sample: the model is refitted on two random halves of the records
(``bayes.split_half_posteriors``) and overrides are made only when both halves agree on at least
:data:`MIN_OVERRIDE_AGREEMENT` of the rows either would override. Ties are broken whenever the halves agree on
:data:`MIN_TIE_AGREEMENT` of them *and* on more than chance (the mean of ``1 / tied classes``) by :data:`TIE_Z`
standard errors — on a few dozen ties (``small``: 300 records) 51–60 % agreement is chance, and breaking them lost
up to 2.3 points; below that the fit is too unstable to beat majority vote's own tie-break and the result is majority
vote. Where both agree the confidence is the generative model's posterior.

The generative model's class prior is uniform. On a two-class task whose tie-breaks give a class more than
:data:`TIE_PRIOR_RATIO` × its share among majority vote's decided rows, that is the uniform prior's bias (``imbalanced``
at half size: 79 ties broken toward the 8 % class, alike in both halves, 0.77 points below majority vote), and the
ties are re-broken with the decided rows' class mix as prior (``tie_prior`` in the details). Only there: a prior for
every task (decided mix, or by EM) cost up to 4.6 points on the multi-class scenarios. The ratio was 2 until the tie
model below: it sends 98.5 % of WRENCH youtube's 270 ties to spam (42.7 % of the decided rows; right on all 11 tied
valid records), which 2 × mistook for that bias (−0.8 on the valid split); ``imbalanced`` has ratios of 11 to 16.

Ties are broken by the tie model (``tie_model.py``), the generative model with two changes that matter where a tie's
evidence is one vote per tied class: a class group's vote *count* (0, 1, 2, 3+) is evidence instead of silent / active,
and from 5 classes on the false-vote rates are pooled over the other classes. Both correct a bias, not noise, which
the split-half check cannot see (the halves share it): ties went to the class with more heuristics (``shifted_labels``
seed 4 at 0.2 and 0.3 × size: −0.76, −0.65) and to rarer classes (``many_classes`` at half size, −0.5 and −0.8). The overrides
and the confidence of agreeing rows are the generative model's, as before.

Ties are left to majority vote when there are fewer than :data:`MIN_TIES` of them. The guarantee is judged on the
figure a user gets, where majority vote's own tie-break is a coin: on ``T`` two-way ties it varies by about ``√T / 2``
records, ±1.3 points on the 200-record ``small`` set (29–45 ties), more than any edge the model can be shown to have
there — breaking them gave +0.6 to +3.9 points on four seeds and −1.7 on the fifth, though the split halves agreed on
78 % of them. From 50 tied records on, no seed of any synthetic scenario at 0.2–1 × size fell more than 0.31 below.

Evidence (docs/weak-supervision.md, synthetic suite and WRENCH valid splits): the gains of a richer model come mostly
from ties, the losses from overrides and from near-copies counted many times (a group of copies of a mediocre rule
cost 0.4 points, of a good rule 1.6, before near-copies were counted once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tie_model as ties
from .base import FloatArray, Manual, ModelOptions, Prediction, Votes, majority_init
from .bayes import naive_bayes, split_half_posteriors

OVERRIDE_CONFIDENCE = 0.9  # the generative posterior needed to overrule a majority-vote decision
MIN_OVERRIDE_AGREEMENT = 0.5  # split-half agreement on the overridden rows needed to override at all
MIN_TIE_AGREEMENT = 0.5  # split-half agreement on the tie-breaks needed to break ties at all
TIE_Z = 2.0  # … and more than chance (1 / tied classes per tie) by this many standard errors
TIE_PRIOR_RATIO = 4.0  # two classes: tie-breaks giving a class > 4 × its decided share are re-weighed by that share
MIN_TIES = 50  # fewer tied records are left to majority vote's coin: its luck on them outweighs any edge (see below)


def _overrides(generative: FloatArray, majority_choice: np.ndarray, decided: np.ndarray, covered: np.ndarray) -> np.ndarray:
    sure = generative.max(axis=1) >= OVERRIDE_CONFIDENCE
    return np.asarray(covered & decided & (generative.argmax(axis=1) != majority_choice) & sure)


def stability(votes: Votes, tied: np.ndarray, decided: np.ndarray, majority_choice: np.ndarray, seed: int) -> dict[str, Any]:
    """Split-half agreement of the tie-breaks and of the overrides (1.0 when there is nothing to agree on)."""
    first, second = split_half_posteriors(votes, seed)
    tie_first, tie_second = ties.split_half(votes, seed)
    covered = votes.covered()
    breaks = covered & ~decided
    pick_1 = np.where(tied, tie_first, -1.0).argmax(axis=1)
    pick_2 = np.where(tied, tie_second, -1.0).argmax(axis=1)
    tie_agreement = float((pick_1[breaks] == pick_2[breaks]).mean()) if breaks.any() else 1.0
    gen_1 = np.where(tied, first, -1.0).argmax(axis=1)
    gen_2 = np.where(tied, second, -1.0).argmax(axis=1)
    generative_agreement = float((gen_1[breaks] == gen_2[breaks]).mean()) if breaks.any() else 1.0
    chance = float((1.0 / tied[breaks].sum(axis=1)).mean()) if breaks.any() else 0.0
    needed = max(MIN_TIE_AGREEMENT, chance + TIE_Z * np.sqrt(chance * (1 - chance) / max(int(breaks.sum()), 1)))
    over_1 = _overrides(first, majority_choice, decided, covered)
    over_2 = _overrides(second, majority_choice, decided, covered)
    union = over_1 | over_2
    same = over_1 & over_2 & (first.argmax(axis=1) == second.argmax(axis=1))
    override_agreement = float(same.sum() / union.sum()) if union.any() else 1.0
    return {
        "tie_agreement": round(tie_agreement, 3),
        "tie_agreement_needed": round(float(needed), 3),
        "generative_tie_agreement": round(generative_agreement, 3),
        "override_agreement": round(override_agreement, 3),
        "overrides_per_half": [int(over_1.sum()), int(over_2.sum())],
    }


def tie_prior(
    majority_choice: np.ndarray, tied: np.ndarray, decided: np.ndarray, breaks: np.ndarray, generative: FloatArray
) -> FloatArray:
    """The class weights of the tie-breaks: uniform, except on a two-class task whose tie-breaks give a class more
    than :data:`TIE_PRIOR_RATIO` × its share among majority vote's decided rows — the generative model's uniform prior
    sending the ties to the rare class (``imbalanced``: 81 of 81 at half size) — where the decided rows' class mix
    (add-one) weighs them."""
    k = generative.shape[1]
    uniform = np.full(k, 1.0 / k)
    if k != 2 or not breaks.any():
        return uniform
    decided_mix = (np.bincount(majority_choice[decided], minlength=k) + 1.0) / (int(decided.sum()) + k)
    picks = np.where(tied, generative, -1.0)[breaks].argmax(axis=1)
    tie_mix = np.bincount(picks, minlength=k) / int(breaks.sum())
    return decided_mix if bool((tie_mix > TIE_PRIOR_RATIO * decided_mix).any()) else uniform


def fit_predict(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """Majority vote with the tie model's stable tie-breaks and the generative model's confident overrides; details
    count both and give the split-half agreements that allowed them."""
    majority = majority_init(votes)
    generative, summary = naive_bayes(votes, None)
    tie_model = ties.tie_posterior(votes)
    covered = votes.covered()
    top = majority.max(axis=1, keepdims=True)
    tied = majority >= top - 1e-9
    decided = tied.sum(axis=1) == 1
    majority_choice = majority.argmax(axis=1)
    stable = stability(votes, tied, decided, majority_choice, options.seed)
    enough_ties = int((covered & ~decided).sum()) >= MIN_TIES
    use_ties = enough_ties and stable["tie_agreement"] >= stable["tie_agreement_needed"]
    generative_stable = stable["generative_tie_agreement"] >= stable["tie_agreement_needed"]
    use_overrides = generative_stable and stable["override_agreement"] >= MIN_OVERRIDE_AGREEMENT
    proba = majority.copy()
    breaks = covered & ~decided if use_ties else np.zeros(votes.n_records, dtype=bool)
    prior = tie_prior(majority_choice, tied, covered & decided, breaks, tie_model)
    among_tied = np.where(tied, tie_model * prior[None, :], 0.0)
    among_tied /= np.maximum(among_tied.sum(axis=1, keepdims=True), 1e-300)
    proba[breaks] = among_tied[breaks]
    overrides = _overrides(generative, majority_choice, decided, covered)
    if not use_overrides:
        overrides[:] = False
    proba[overrides] = generative[overrides]
    agree = covered & decided & (generative.argmax(axis=1) == majority_choice)
    if use_ties or use_overrides:
        proba[agree] = generative[agree]  # the same answer, with the richer model's confidence
    details: dict[str, Any] = {
        "ties_broken": int(breaks.sum()),
        "tied_records": int((covered & ~decided).sum()),
        "overrides": int(overrides.sum()),
        "override_confidence": OVERRIDE_CONFIDENCE,
        "covered_records": int(covered.sum()),
        "split_half": stable,
        "tie_prior": [round(float(x), 4) for x in prior],
        "tie_model": {"count_buckets": ties.COUNT_BUCKETS, "false_rates": "pooled" if ties.pooled(votes) else "per class"},
        "uses": {
            (True, True): "ties and overrides",
            (True, False): "ties only",
            (False, True): "overrides only",
            (False, False): "majority vote only",
        }[(use_ties, use_overrides)],
        **{key: summary[key] for key in ("duplicate_groups", "heuristics_in_groups") if key in summary},
    }
    return Prediction(proba, covered, details)


def reason(details: dict[str, Any]) -> str:
    """One sentence: what ``guarded`` used of the tie model and of the generative model, and why."""
    stable = details["split_half"]
    copies = (
        f"; near-copy heuristics counted once ({details['heuristics_in_groups']} heuristics in"
        f" {details['duplicate_groups']} group{'s' if details['duplicate_groups'] > 1 else ''})"
        if details.get("duplicate_groups")
        else ""
    )
    tied = details["tied_records"]
    if details["ties_broken"]:
        pooled = details.get("tie_model", {}).get("false_rates") == "pooled"
        ties_text = (
            f"the tie model broke {details['ties_broken']} ties (split-half agreement {stable['tie_agreement']:.0%};"
            " it weighs how many of each tied class's heuristics voted"
            + (", with one false-vote rate per heuristic pooled over the other classes)" if pooled else ")")
        )
    elif not tied:
        ties_text = "no ties"
    elif tied < MIN_TIES:
        ties_text = (
            f"its {tied} ties left to its coin (< {MIN_TIES}: on so few ties the coin's luck outweighs what a model"
            " can be expected to gain)"
        )
    else:
        ties_text = (
            f"its ties left to its coin (the tie model is unstable: its two split-half fits break only"
            f" {stable['tie_agreement']:.0%} of the {tied} ties alike, < {stable['tie_agreement_needed']:.0%}, the least"
            " above chance)"
        )
    if details["uses"] in ("ties and overrides", "overrides only"):
        overrides_text = (
            f"the generative model overrode {details['overrides']} rows where it is ≥ {OVERRIDE_CONFIDENCE:.0%} sure"
            f" (split-half agreement {stable['override_agreement']:.0%})"
            if details["overrides"]
            else f"the generative model was never ≥ {OVERRIDE_CONFIDENCE:.0%} sure against its decision (no override)"
        )
    elif stable.get("generative_tie_agreement", 1.0) < stable["tie_agreement_needed"]:
        overrides_text = (
            "the generative model made no override (it is unstable: its split-half fits break only"
            f" {stable['generative_tie_agreement']:.0%} of the ties alike)"
        )
    else:
        overrides_text = (
            f"the generative model made no override (its overrides agree across split halves on"
            f" {stable['override_agreement']:.0%} < {MIN_OVERRIDE_AGREEMENT:.0%})"
        )
    text = f"majority vote; {ties_text}; {overrides_text}"
    prior = details.get("tie_prior", [])
    if len(set(prior)) > 1:
        text += (
            f"; ties weighed by majority vote's decided class mix {', '.join(f'{x:.0%}' for x in prior)} (the uniform"
            " prior sent them to a class far rarer among the decided rows)"
        )
    return text + copies
