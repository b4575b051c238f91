/** A linear map from a domain [d0, d1] onto a range [r0, r1] (a zero-width domain maps to r0). */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (value: number) => number {
  const width = d1 - d0;
  return (value) => (width === 0 ? r0 : r0 + ((value - d0) / width) * (r1 - r0));
}

/** Round axis ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = 0; t < max + step - 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Bars of a band scale: `n` bands over [0, width] with a padding share between them; each band's x and width. */
export function bands(n: number, width: number, padding = 0.2): { x: (i: number) => number; width: number } {
  const step = n > 0 ? width / n : width;
  return { x: (i) => i * step + (step * padding) / 2, width: step * (1 - padding) };
}

/** A cell colour for a count in a heatmap: white at 0 to the primary colour at `max`, as an rgb() string. */
export function heat(value: number, max: number): string {
  const t = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  const mix = (from: number, to: number) => Math.round(from + (to - from) * t);
  return `rgb(${mix(255, 79)}, ${mix(255, 70)}, ${mix(255, 229)})`;
}
