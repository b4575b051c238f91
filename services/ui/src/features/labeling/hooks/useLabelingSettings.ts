import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, unwrap } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";

export interface LabelingSettings {
  /** Go to the next record after a classification label. */
  autoNext: boolean;
  /** Keep the text's line breaks. */
  lineBreaks: boolean;
  /** Which label sources are shown (table and spans): MANUAL, WEAK_SUPERVISION, INFORMATION_SOURCE. */
  hiddenSources: string[];
  /** Label buttons shown per task before "More labels" (the rest are in the label box with its search). */
  labelButtons: number;
  /** Each kind of span (source, task, label) in a lane of its own. */
  swimLanes: boolean;
}

export const DEFAULT_LABELING_SETTINGS: LabelingSettings = {
  autoNext: false,
  lineBreaks: true,
  hiddenSources: [],
  labelButtons: 5,
  swimLanes: false,
};

/** Stored settings over the defaults, keeping only known keys of the right type (a stored value may be old or odd). */
export function mergeSettings(stored: unknown): LabelingSettings {
  const out: LabelingSettings = { ...DEFAULT_LABELING_SETTINGS };
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return out;
  const value = stored as Record<string, unknown>;
  if (typeof value.autoNext === "boolean") out.autoNext = value.autoNext;
  if (typeof value.lineBreaks === "boolean") out.lineBreaks = value.lineBreaks;
  if (typeof value.swimLanes === "boolean") out.swimLanes = value.swimLanes;
  if (Array.isArray(value.hiddenSources)) out.hiddenSources = value.hiddenSources.filter((s): s is string => typeof s === "string");
  if (typeof value.labelButtons === "number" && Number.isFinite(value.labelButtons))
    out.labelButtons = Math.max(1, Math.min(50, Math.round(value.labelButtons)));
  return out;
}

function readCache(key: string): LabelingSettings {
  try {
    return mergeSettings(JSON.parse(window.localStorage.getItem(key) ?? "null"));
  } catch {
    return DEFAULT_LABELING_SETTINGS;
  }
}

const SERVER_KEY = "labeling";
export const labelingSettingsKey = ["me-settings", SERVER_KEY] as const;

/**
 * The labeling page's settings of the user, kept server-side (they follow the user to any browser). This browser
 * keeps a copy so the page opens with them at once; the server's value wins when it arrives; a change is saved
 * after a short pause.
 */
export function useLabelingSettings(userId: string) {
  const cacheKey = `refinery.labeling-settings.${userId}`;
  const [settings, setSettings] = useState<LabelingSettings>(() => readCache(cacheKey));
  const changed = useRef(false);
  const server = useQuery({
    queryKey: labelingSettingsKey,
    queryFn: () => unwrap(api.GET("/api/v1/me/settings/{key}", { params: { path: { key: SERVER_KEY } } })),
    staleTime: Infinity,
  });

  // The server's value, unless the user changed something before it came.
  const serverValue = server.data;
  useEffect(() => {
    if (!serverValue || changed.current || serverValue.updated_at === null) return;
    const merged = mergeSettings(serverValue.value);
    setSettings(merged);
    window.localStorage.setItem(cacheKey, JSON.stringify(merged));
  }, [serverValue, cacheKey]);

  const timer = useRef<number | undefined>(undefined);
  const update = useCallback(
    (change: Partial<LabelingSettings>) => {
      changed.current = true;
      setSettings((current) => {
        const next = { ...current, ...change };
        window.localStorage.setItem(cacheKey, JSON.stringify(next));
        window.clearTimeout(timer.current);
        timer.current = window.setTimeout(() => {
          void unwrap(api.PUT("/api/v1/me/settings/{key}", { params: { path: { key: SERVER_KEY } }, body: { value: { ...next } } })).catch(
            (error: unknown) => toast.error(`Your labeling settings were not saved: ${problemMessage(error)}`),
          );
        }, 500);
        return next;
      });
    },
    [cacheKey],
  );
  return [settings, update] as const;
}
