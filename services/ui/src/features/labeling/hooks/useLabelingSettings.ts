import { useCallback, useState } from "react";

export interface LabelingSettings {
  /** Go to the next record after a classification label. */
  autoNext: boolean;
  /** Keep the text's line breaks. */
  lineBreaks: boolean;
  /** Which label sources are shown (table and spans): MANUAL, WEAK_SUPERVISION, INFORMATION_SOURCE. */
  hiddenSources: string[];
}

const DEFAULTS: LabelingSettings = { autoNext: false, lineBreaks: true, hiddenSources: [] };

function read(key: string): LabelingSettings {
  try {
    const stored: unknown = JSON.parse(window.localStorage.getItem(key) ?? "null");
    if (typeof stored === "object" && stored !== null) return { ...DEFAULTS, ...(stored as Partial<LabelingSettings>) };
  } catch {
    // a broken value: the defaults
  }
  return DEFAULTS;
}

/** The labeling page's settings of one user, kept in this browser's local storage. */
export function useLabelingSettings(userId: string) {
  const key = `refinery.labeling-settings.${userId}`;
  const [settings, setSettings] = useState<LabelingSettings>(() => read(key));
  const update = useCallback(
    (change: Partial<LabelingSettings>) => {
      setSettings((current) => {
        const next = { ...current, ...change };
        window.localStorage.setItem(key, JSON.stringify(next));
        return next;
      });
    },
    [key],
  );
  return [settings, update] as const;
}
