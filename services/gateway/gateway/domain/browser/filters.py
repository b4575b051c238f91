"""The data browser's typed filter: groups of conditions joined by AND/OR, every condition and group negatable.

A filter is a tree: a :class:`FilterGroup` holds conditions and nested groups. :func:`check_limits` bounds its
depth and size; :mod:`.compile` turns it into SQL. Conditions are told apart by ``kind``.
"""

from __future__ import annotations

import enum
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared_model.service import problem

MAX_DEPTH = 5  # nesting of groups
MAX_CONDITIONS = 100  # conditions in the whole tree
MAX_VALUES = 1000  # values of one condition (IN, IN_WC)
MAX_VALUE_CHARS = 1000
MAX_SIMILAR_K = 1000  # records one similarity condition or sort key asks neural search for
MAX_SIMILAR_TEXT_CHARS = 10_000

Scalar = Annotated[str, Field(max_length=MAX_VALUE_CHARS)] | int | float | bool


class Operator(enum.StrEnum):
    """refinery's attribute operators (``IN_WC``: values with wildcards ``*``/``%`` any text, ``?``/``_`` one char)."""

    EQUAL = "EQUAL"
    BEGINS_WITH = "BEGINS_WITH"
    ENDS_WITH = "ENDS_WITH"
    CONTAINS = "CONTAINS"
    IN = "IN"
    IN_WC = "IN_WC"
    BETWEEN = "BETWEEN"
    GREATER = "GREATER"
    GREATER_EQUAL = "GREATER_EQUAL"
    LESS = "LESS"
    LESS_EQUAL = "LESS_EQUAL"


ONE_VALUE = {
    Operator.EQUAL,
    Operator.BEGINS_WITH,
    Operator.ENDS_WITH,
    Operator.CONTAINS,
    Operator.GREATER,
    Operator.GREATER_EQUAL,
    Operator.LESS,
    Operator.LESS_EQUAL,
}


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    negate: bool = Field(default=False, description="Select the records the condition does not select.")


class AttributeCondition(_Condition):
    """An attribute's value compared with ``values`` (numbers compare as numbers on INTEGER and FLOAT attributes).

    A record without a value for the attribute never matches (so it matches the negation)."""

    kind: Literal["attribute"] = "attribute"
    attribute: str | None = Field(
        default=None, max_length=200, description="An attribute name; null = any attribute (one of them matches)."
    )
    operator: Operator
    values: list[Scalar] = Field(min_length=1, max_length=MAX_VALUES)
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _arity(self) -> AttributeCondition:
        if self.operator in ONE_VALUE and len(self.values) != 1:
            raise ValueError(f"{self.operator} takes exactly one value, not {len(self.values)}")
        if self.operator == Operator.BETWEEN and len(self.values) != 2:
            raise ValueError(f"BETWEEN takes exactly two values (low, high), not {len(self.values)}")
        return self


class FullTextCondition(_Condition):
    """Words in text (PostgreSQL full-text search, configuration ``simple``: lower-cased words, no stemming, no stop
    words). ``query`` in web-search syntax: words (all must occur), ``"a phrase"``, ``OR``, ``-word`` (must not)."""

    kind: Literal["full_text"] = "full_text"
    query: str = Field(min_length=1, max_length=MAX_VALUE_CHARS)
    attribute: str | None = Field(
        default=None, max_length=200, description="A TEXT or CATEGORY attribute; null = the record's text values together."
    )


class LabelMode(enum.StrEnum):
    ANY = "any"  # some label
    LABELS = "labels"  # one of label_ids
    NONE = "none"  # no label


class ManualLabelCondition(_Condition):
    """Manual labels of a task (by anyone, or by ``annotator_id``)."""

    kind: Literal["manual_label"] = "manual_label"
    task_id: uuid.UUID
    mode: LabelMode = LabelMode.ANY
    label_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_VALUES)
    annotator_id: uuid.UUID | None = None
    decided: bool = Field(
        default=False, description="Only the decided manual labels (the project's resolution rule), not every annotator's."
    )


class GoldStarCondition(_Condition):
    """A gold-starred manual label of the task."""

    kind: Literal["gold_star"] = "gold_star"
    task_id: uuid.UUID


class WeakSupervisionCondition(_Condition):
    """The weak-supervision label of a task, optionally within a confidence range (inclusive, 0–1)."""

    kind: Literal["weak_supervision"] = "weak_supervision"
    task_id: uuid.UUID
    mode: LabelMode = LabelMode.ANY
    label_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_VALUES)
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    max_confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class HeuristicVote(enum.StrEnum):
    ANY = "any"
    LABELS = "labels"
    NONE = "none"


class HeuristicCondition(_Condition):
    """A heuristic's vote: one of ``label_ids``, any vote, or no vote."""

    kind: Literal["heuristic"] = "heuristic"
    heuristic_id: uuid.UUID
    mode: HeuristicVote = HeuristicVote.ANY
    label_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_VALUES)


class HeuristicsDisagreeCondition(_Condition):
    """Heuristics of the task voted different labels on the record."""

    kind: Literal["heuristics_disagree"] = "heuristics_disagree"
    task_id: uuid.UUID


class NoHeuristicVotedCondition(_Condition):
    """No heuristic of the task voted on the record."""

    kind: Literal["no_heuristic_voted"] = "no_heuristic_voted"
    task_id: uuid.UUID


class ManualWsDifferCondition(_Condition):
    """The record has valid manual labels and weak-supervision labels of the task, and they differ (as sets of
    label and span)."""

    kind: Literal["manual_ws_differ"] = "manual_ws_differ"
    task_id: uuid.UUID


class AnnotatorsDisagreeCondition(_Condition):
    """Two or more annotators labeled the record in the task and their manual labels differ (as sets of label and
    span), whatever the resolution rule decided."""

    kind: Literal["annotators_disagree"] = "annotators_disagree"
    task_id: uuid.UUID


class HasCommentsCondition(_Condition):
    """The record has a comment the caller can read."""

    kind: Literal["has_comments"] = "has_comments"


class InSliceCondition(_Condition):
    """The record is in a data slice (a static slice's frozen records, a dynamic slice's filter)."""

    kind: Literal["in_slice"] = "in_slice"
    slice_id: uuid.UUID


SimilarityLookup = tuple[uuid.UUID, int | None, str | None, int, float | None]


class SimilarityQuery(BaseModel):
    """Records similar to a record or to a free text under an attribute-level embedding (cosine similarity, computed
    by the neural search service): the ``top_k`` most similar records of the embedding, only those scoring at least
    ``min_score`` when it is given. The query record itself is not among them."""

    model_config = ConfigDict(extra="forbid")

    embedding_id: uuid.UUID = Field(description="An attribute-level embedding of the project, finished.")
    record_id: int | None = Field(default=None, description="Similar to this record (exactly one of record_id, text).")
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SIMILAR_TEXT_CHARS,
        description="Similar to this text (the embedder encodes it).",
    )
    top_k: int = Field(default=100, ge=1, le=MAX_SIMILAR_K, description="How many of the most similar records.")
    min_score: float | None = Field(default=None, ge=-1.0, le=1.0, description="Minimum cosine similarity; null: none.")

    @model_validator(mode="after")
    def _one_query(self) -> SimilarityQuery:
        if (self.record_id is None) == (self.text is None):
            raise ValueError("give exactly one of record_id or text")
        return self

    def lookup(self) -> SimilarityLookup:
        """The query without its place: the key of its hits (see :mod:`.similarity`)."""
        return (self.embedding_id, self.record_id, self.text, self.top_k, self.min_score)


class SimilarCondition(SimilarityQuery, _Condition):
    """The record is among the ``top_k`` records most similar to a record or a text (see :class:`SimilarityQuery`);
    joined with the other conditions like any condition (``top_k`` counts the embedding's records, before the rest
    of the filter)."""

    kind: Literal["similar"] = "similar"


class FilterGroup(_Condition):
    """Conditions and groups joined by ``join``; an empty group selects every record."""

    kind: Literal["group"] = "group"
    join: Literal["AND", "OR"] = "AND"
    conditions: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)


Condition = Annotated[
    AttributeCondition
    | FullTextCondition
    | ManualLabelCondition
    | GoldStarCondition
    | WeakSupervisionCondition
    | HeuristicCondition
    | HeuristicsDisagreeCondition
    | NoHeuristicVotedCondition
    | ManualWsDifferCondition
    | AnnotatorsDisagreeCondition
    | HasCommentsCondition
    | InSliceCondition
    | SimilarCondition
    | FilterGroup,
    Field(discriminator="kind"),
]

FilterGroup.model_rebuild()


def check_limits(group: FilterGroup, where: str = "filter") -> None:
    """Refuse (422, naming the place) a filter nested deeper than :data:`MAX_DEPTH` or with more than
    :data:`MAX_CONDITIONS` conditions in all."""
    total = 0

    def walk(node: FilterGroup, path: str, depth: int) -> None:
        nonlocal total
        if depth > MAX_DEPTH:
            raise problem(422, f"{path}: groups are nested more than {MAX_DEPTH} deep")
        for i, child in enumerate(node.conditions):
            total += 1
            if total > MAX_CONDITIONS:
                raise problem(422, f"{path}.conditions[{i}]: the filter has more than {MAX_CONDITIONS} conditions")
            if isinstance(child, FilterGroup):
                walk(child, f"{path}.conditions[{i}]", depth + 1)

    walk(group, where, 1)
