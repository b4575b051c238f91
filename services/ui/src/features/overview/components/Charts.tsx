import { useState, type ReactNode } from "react";
import type { Schemas } from "../../../api/client";
import { bands, heat, linearScale, niceTicks } from "../scale";
import styles from "../overview.module.css";

type LabelCount = Schemas["LabelCount"];
type HistogramBin = Schemas["HistogramBin"];
type ConfusionCell = Schemas["ConfusionCell"];

const MANUAL = "#4f46e5";
const WEAK = "#f59e0b";

interface Tip {
  x: number;
  y: number;
  text: string;
}

/** A chart frame: its title, an SVG of the given size and a tooltip that follows the hovered mark. */
function ChartFrame({ title, width, height, tip, children, legend }: { title: string; width: number; height: number; tip: Tip | null; children: ReactNode; legend?: ReactNode }) {
  return (
    <figure className={`card ${styles.chart}`} aria-label={title}>
      <figcaption className="row between">
        <strong>{title}</strong>
        {legend}
      </figcaption>
      <div className={styles.plot}>
        <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={title}>
          {children}
        </svg>
        {tip ? (
          <div role="tooltip" className={styles.tooltip} style={{ left: `${(tip.x / width) * 100}%`, top: `${(tip.y / height) * 100}%` }}>
            {tip.text}
          </div>
        ) : null}
      </div>
    </figure>
  );
}

function Legend() {
  return (
    <span className="row small">
      <span className={styles.swatch} style={{ background: MANUAL }} /> manual
      <span className={styles.swatch} style={{ background: WEAK }} /> weak supervision
    </span>
  );
}

function YAxis({ ticks, y, left, right }: { ticks: number[]; y: (v: number) => number; left: number; right: number }) {
  return (
    <g className={styles.axis}>
      {ticks.map((t) => (
        <g key={t}>
          <line x1={left} x2={right} y1={y(t)} y2={y(t)} stroke="#e5e7eb" />
          <text x={left - 6} y={y(t) + 4} textAnchor="end">
            {t}
          </text>
        </g>
      ))}
    </g>
  );
}

const W = 480;
const H = 240;
const M = { left: 44, right: 8, top: 10, bottom: 44 };

/** Manual vs weak-supervision labels per label, as grouped bars. */
export function LabelDistributionChart({ data }: { data: LabelCount[] }) {
  const [tip, setTip] = useState<Tip | null>(null);
  const max = Math.max(1, ...data.flatMap((d) => [d.manual, d.weak_supervision]));
  const ticks = niceTicks(max);
  const y = linearScale(0, ticks[ticks.length - 1] ?? max, H - M.bottom, M.top);
  const band = bands(data.length, W - M.left - M.right);
  return (
    <ChartFrame title="Label distribution" width={W} height={H} tip={tip} legend={<Legend />}>
      <YAxis ticks={ticks} y={y} left={M.left} right={W - M.right} />
      {data.map((d, i) => {
        const x = M.left + band.x(i);
        const half = band.width / 2;
        return (
          <g key={d.label_id} data-label={d.name}>
            {[
              { value: d.manual, ratio: d.manual_ratio, color: MANUAL, source: "manual", dx: 0 },
              { value: d.weak_supervision, ratio: d.weak_supervision_ratio, color: WEAK, source: "weak supervision", dx: half },
            ].map((bar) => {
              const text = `${d.name}, ${bar.source}: ${bar.value} (${(bar.ratio * 100).toFixed(1)} %)`;
              return (
                <rect
                  key={bar.source}
                  x={x + bar.dx}
                  y={y(bar.value)}
                  width={Math.max(1, half - 1)}
                  height={Math.max(0, H - M.bottom - y(bar.value))}
                  fill={bar.color}
                  tabIndex={0}
                  aria-label={text}
                  data-value={bar.value}
                  onMouseEnter={() => setTip({ x: x + bar.dx + half / 2, y: y(bar.value), text })}
                  onFocus={() => setTip({ x: x + bar.dx + half / 2, y: y(bar.value), text })}
                  onMouseLeave={() => setTip(null)}
                  onBlur={() => setTip(null)}
                />
              );
            })}
            <text x={x + band.width / 2} y={H - M.bottom + 16} textAnchor="middle" className={styles.tick}>
              {d.name.length > 12 ? `${d.name.slice(0, 11)}…` : d.name}
            </text>
          </g>
        );
      })}
    </ChartFrame>
  );
}

/** Weak-supervision labels by confidence, one bar per bin. */
export function ConfidenceHistogramChart({ data }: { data: HistogramBin[] }) {
  const [tip, setTip] = useState<Tip | null>(null);
  const max = Math.max(1, ...data.map((d) => d.count));
  const ticks = niceTicks(max);
  const y = linearScale(0, ticks[ticks.length - 1] ?? max, H - M.bottom, M.top);
  const x = linearScale(0, 1, M.left, W - M.right);
  return (
    <ChartFrame title="Confidence histogram (weak supervision)" width={W} height={H} tip={tip}>
      <YAxis ticks={ticks} y={y} left={M.left} right={W - M.right} />
      {data.map((bin) => {
        const text = `${bin.low.toFixed(1)}–${bin.high.toFixed(1)}: ${bin.count} labels`;
        return (
          <rect
            key={bin.low}
            x={x(bin.low) + 1}
            y={y(bin.count)}
            width={Math.max(1, x(bin.high) - x(bin.low) - 2)}
            height={Math.max(0, H - M.bottom - y(bin.count))}
            fill={WEAK}
            tabIndex={0}
            aria-label={text}
            data-value={bin.count}
            onMouseEnter={() => setTip({ x: (x(bin.low) + x(bin.high)) / 2, y: y(bin.count), text })}
            onFocus={() => setTip({ x: (x(bin.low) + x(bin.high)) / 2, y: y(bin.count), text })}
            onMouseLeave={() => setTip(null)}
            onBlur={() => setTip(null)}
          />
        );
      })}
      {[0, 0.2, 0.4, 0.6, 0.8, 1].map((t) => (
        <text key={t} x={x(t)} y={H - M.bottom + 16} textAnchor="middle" className={styles.tick}>
          {t.toFixed(1)}
        </text>
      ))}
      <text x={(M.left + W) / 2} y={H - 8} textAnchor="middle" className={styles.tick}>
        confidence
      </text>
    </ChartFrame>
  );
}

/** Manual (rows) × weak-supervision (columns) labels on manually labeled records; OUTSIDE for extraction spans. */
export function ConfusionMatrixChart({ data, labels }: { data: ConfusionCell[]; labels: string[] }) {
  const [tip, setTip] = useState<Tip | null>(null);
  const names = [...labels];
  for (const cell of data) {
    for (const name of [cell.manual, cell.weak_supervision]) if (!names.includes(name)) names.push(name);
  }
  const size = 320;
  const left = 90;
  const top = 70;
  const cell = names.length ? (size - 10) / names.length : 0;
  const count = new Map(data.map((c) => [`${c.manual}\u0000${c.weak_supervision}`, c.count]));
  const max = Math.max(1, ...data.map((c) => c.count));
  const width = left + size;
  const height = top + size;
  return (
    <ChartFrame
      title="Confusion matrix (manual × weak supervision)"
      width={width}
      height={height}
      tip={tip}
      legend={<span className="small muted">on labels the model may have been fitted on: not a quality estimate</span>}
    >
      <text x={left + size / 2} y={12} textAnchor="middle" className={styles.tick}>
        weak supervision →
      </text>
      {names.map((name, j) => (
        <text key={`c${name}`} x={left + j * cell + cell / 2} y={top - 8} textAnchor="start" transform={`rotate(-40 ${left + j * cell + cell / 2} ${top - 8})`} className={styles.tick}>
          {name.length > 10 ? `${name.slice(0, 9)}…` : name}
        </text>
      ))}
      {names.map((manual, i) => (
        <g key={`r${manual}`}>
          <text x={left - 6} y={top + i * cell + cell / 2 + 4} textAnchor="end" className={styles.tick}>
            {manual.length > 12 ? `${manual.slice(0, 11)}…` : manual}
          </text>
          {names.map((weak, j) => {
            const value = count.get(`${manual}\u0000${weak}`) ?? 0;
            const text = `manual ${manual}, weak supervision ${weak}: ${value}`;
            return (
              <g key={weak}>
                <rect
                  x={left + j * cell}
                  y={top + i * cell}
                  width={cell - 2}
                  height={cell - 2}
                  fill={heat(value, max)}
                  stroke={i === j ? "#111827" : "#e5e7eb"}
                  tabIndex={0}
                  aria-label={text}
                  data-value={value}
                  onMouseEnter={() => setTip({ x: left + j * cell + cell / 2, y: top + i * cell, text })}
                  onFocus={() => setTip({ x: left + j * cell + cell / 2, y: top + i * cell, text })}
                  onMouseLeave={() => setTip(null)}
                  onBlur={() => setTip(null)}
                />
                {cell > 22 ? (
                  <text x={left + j * cell + cell / 2 - 1} y={top + i * cell + cell / 2 + 4} textAnchor="middle" className={styles.cellText} fill={value / max > 0.55 ? "#fff" : "#111827"}>
                    {value}
                  </text>
                ) : null}
              </g>
            );
          })}
        </g>
      ))}
    </ChartFrame>
  );
}
