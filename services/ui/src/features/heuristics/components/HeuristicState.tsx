/** A heuristic's (or a run's) state as a small coloured badge. */
export function StateBadge({ state, label }: { state: string; label?: string }) {
  return (
    <span className={`h-state ${state}`} data-testid="heuristic-state">
      {label ?? state.replace(/_/g, " ").toLowerCase()}
    </span>
  );
}

const TYPE_NAMES: Record<string, string> = {
  LABELING_FUNCTION: "Labeling function",
  ACTIVE_LEARNING: "Active learner",
  PRE_COMPUTED: "Pre-computed",
  ZERO_SHOT: "Zero-shot",
  CROWD_LABELER: "Crowd labeler",
};

export function typeName(type: string): string {
  return TYPE_NAMES[type] ?? type;
}

export function TypeBadge({ type }: { type: string }) {
  return <span className="h-badge">{typeName(type)}</span>;
}
