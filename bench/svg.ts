/**
 * A hand-made SVG chart of a benchmark run: per workload, the Cairn/etcd throughput ratio (or
 * Cairn's throughput when nothing was compared) and the p99 latency of each system as grouped
 * bars on a logarithmic scale.
 */
import type { ResultRow } from './report.js';

const ROW_HEIGHT = 26;
const LABEL_WIDTH = 330;
const PANEL_WIDTH = 380;
const GAP = 60;
const TOP = 50;
const COLORS = { cairn: '#2a7ab9', etcd: '#e07b39', ratio: '#4a9a5b' } as const;

function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Log10 position in [0, 1] of x between lo and hi. */
function logPos(x: number, lo: number, hi: number): number {
  return Math.min(1, Math.max(0, (Math.log10(x) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))));
}

function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const t = 10 ** e;
    if (t >= lo && t <= hi) out.push(t);
  }
  return out;
}

/** The chart for these rows. */
export function renderSvg(rows: readonly ResultRow[], title: string): string {
  const compared = rows.some((r) => r.ratio);
  const height = TOP + rows.length * ROW_HEIGHT + 50;
  const width = LABEL_WIDTH + 2 * PANEL_WIDTH + GAP + 20;
  const x1 = LABEL_WIDTH;
  const x2 = LABEL_WIDTH + PANEL_WIDTH + GAP;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
  );

  // Panel 1: throughput ratio (linear, 0..max(2, ratios)) or Cairn's throughput (log).
  const ratios = rows.map((r) => r.ratio?.throughput ?? null);
  const maxRatio = Math.max(2, ...ratios.filter((x): x is number => x !== null));
  const tputs = rows
    .map((r) => r.results.cairn?.opsPerSecond ?? null)
    .filter((x): x is number => x !== null && x > 0);
  const tLo = 10 ** Math.floor(Math.log10(Math.min(1, ...tputs)));
  const tHi = 10 ** Math.ceil(Math.log10(Math.max(10, ...tputs)));
  out.push(
    `<text x="${x1}" y="${TOP - 12}" font-weight="bold">${compared ? 'throughput, Cairn/etcd (1.0 = parity)' : 'Cairn throughput, ops/s (log)'}</text>`,
  );
  // Panel 2: p99 per system (log scale).
  const p99s = rows
    .flatMap((r) => [r.results.cairn?.p99Ms, r.results.etcd?.p99Ms])
    .filter((x): x is number => !!x && x > 0);
  const pLo = 10 ** Math.floor(Math.log10(Math.min(1, ...p99s)));
  const pHi = 10 ** Math.ceil(Math.log10(Math.max(10, ...p99s)));
  out.push(`<text x="${x2}" y="${TOP - 12}" font-weight="bold">p99 latency, ms (log)</text>`);

  const bottom = TOP + rows.length * ROW_HEIGHT;
  // Grid and axis labels.
  if (compared) {
    for (let t = 0; t <= maxRatio; t += 0.5) {
      const x = x1 + (t / maxRatio) * PANEL_WIDTH;
      out.push(
        `<line x1="${x}" y1="${TOP}" x2="${x}" y2="${bottom}" stroke="${t === 1 ? '#333' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`,
        `<text x="${x}" y="${bottom + 14}" text-anchor="middle" fill="#555">${t.toFixed(1)}</text>`,
      );
    }
  } else {
    for (const t of ticks(tLo, tHi)) {
      const x = x1 + logPos(t, tLo, tHi) * PANEL_WIDTH;
      out.push(
        `<line x1="${x}" y1="${TOP}" x2="${x}" y2="${bottom}" stroke="#ddd"/>`,
        `<text x="${x}" y="${bottom + 14}" text-anchor="middle" fill="#555">${t}</text>`,
      );
    }
  }
  for (const t of ticks(pLo, pHi)) {
    const x = x2 + logPos(t, pLo, pHi) * PANEL_WIDTH;
    out.push(
      `<line x1="${x}" y1="${TOP}" x2="${x}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${x}" y="${bottom + 14}" text-anchor="middle" fill="#555">${t}</text>`,
    );
  }

  rows.forEach((r, i) => {
    const y = TOP + i * ROW_HEIGHT;
    out.push(`<text x="${LABEL_WIDTH - 8}" y="${y + 16}" text-anchor="end">${esc(r.title)}</text>`);
    if (compared) {
      const q = r.ratio?.throughput;
      if (q !== null && q !== undefined) {
        const w = (Math.min(q, maxRatio) / maxRatio) * PANEL_WIDTH;
        out.push(
          `<rect x="${x1}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_HEIGHT - 8}" fill="${COLORS.ratio}"/>`,
          `<text x="${x1 + w + 4}" y="${y + 16}">${q.toFixed(2)}x</text>`,
        );
      }
    } else {
      const t = r.results.cairn?.opsPerSecond;
      if (t) {
        const w = logPos(t, tLo, tHi) * PANEL_WIDTH;
        out.push(
          `<rect x="${x1}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_HEIGHT - 8}" fill="${COLORS.cairn}"/>`,
          `<text x="${x1 + w + 4}" y="${y + 16}">${t.toFixed(0)}</text>`,
        );
      }
    }
    const systems = (['cairn', 'etcd'] as const).filter((s) => r.results[s]);
    const barH = (ROW_HEIGHT - 6) / Math.max(1, systems.length);
    systems.forEach((s, k) => {
      const p = r.results[s]?.p99Ms;
      if (!p) return;
      const w = logPos(p, pLo, pHi) * PANEL_WIDTH;
      const by = y + 3 + k * barH;
      out.push(
        `<rect x="${x2}" y="${by.toFixed(1)}" width="${w.toFixed(1)}" height="${(barH - 1).toFixed(1)}" fill="${COLORS[s]}"><title>${s} p99 ${p.toFixed(2)} ms</title></rect>`,
        `<text x="${x2 + w + 4}" y="${(by + barH - 2).toFixed(1)}" font-size="10">${p.toFixed(p < 10 ? 2 : 0)}</text>`,
      );
    });
  });
  const ly = height - 14;
  out.push(
    `<rect x="${x2}" y="${ly - 9}" width="10" height="10" fill="${COLORS.cairn}"/><text x="${x2 + 14}" y="${ly}">Cairn</text>`,
    ...(rows.some((r) => r.results.etcd)
      ? [
          `<rect x="${x2 + 70}" y="${ly - 9}" width="10" height="10" fill="${COLORS.etcd}"/><text x="${x2 + 84}" y="${ly}">etcd</text>`,
        ]
      : []),
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
