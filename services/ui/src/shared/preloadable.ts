import { createElement, lazy, useState, type ComponentType } from "react";

/**
 * A lazily loaded component that renders at once when its chunk has already arrived (preloaded). React.lazy suspends
 * on its first render even then, and React reveals suspended content at most every 300 ms: a preloaded page or chart
 * would still show its fallback for up to 300 ms after its data arrived.
 */
export function preloadable<P extends object>(load: () => Promise<{ default: ComponentType<P> }>) {
  let loaded: ComponentType<P> | undefined;
  let started: Promise<{ default: ComponentType<P> }> | undefined;
  const preload = () =>
    (started ??= load().then((module) => {
      loaded = module.default;
      return module;
    }));
  const Lazy = lazy(preload);
  function Preloadable(props: P) {
    // Chosen once per mount: switching from the lazy wrapper to the component would remount it (and lose its state).
    const [Direct] = useState(() => loaded);
    return Direct ? createElement(Direct, props) : createElement(Lazy, props);
  }
  return Object.assign(Preloadable, { preload });
}
