/**
 * `npm run fuzz -- --seed S --count N` runs one fuzz session against a fresh three-member
 * cluster and prints the outcome counts and every failure with its seed and case;
 * `--case I` (repeatable, or comma-separated) replays only those cases of the seed;
 * `--verbose` also lists the distinct status messages seen.
 */
import { parseArgs } from 'node:util';
import { fuzzSession } from './session.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    count: { type: 'string', default: '2000' },
    case: { type: 'string', multiple: true },
    verbose: { type: 'boolean', default: false },
  },
});

const seed = Number(values.seed);
const only = values.case?.flatMap((c) => c.split(',')).map(Number);
const r = await fuzzSession({ seed, count: Number(values.count), ...(only ? { only } : {}) });
console.log(
  `seed=${seed} cases=${r.report.cases} refusedByGuard=${r.report.refusedByGuard} ` +
    `durationMs=${Math.round(r.report.durationMs)} problems=${r.problems.length}`,
);
console.log(
  Object.entries(r.report.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n'),
);
if (values.verbose)
  for (const [k, v] of Object.entries(r.report.messages).sort((a, b) => b[1] - a[1]))
    console.log(`  ${v}\t${k}`);
for (const m of r.rss)
  console.log(
    `  rss ${m.member}: ${(m.beforeBytes / 2 ** 20).toFixed(0)} -> ${(m.afterBytes / 2 ** 20).toFixed(0)} MiB`,
  );
for (const p of r.problems) console.log(p);
process.exit(r.problems.length > 0 ? 1 : 0);
