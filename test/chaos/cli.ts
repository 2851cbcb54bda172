/**
 * `npm run chaos -- --time 60 --seed S [--nodes 3|5] [--runs N] [--workers W] [--keys K]
 * [--serializable-reads] [--faults all|kill,pause,partition,one-way,latency,slow-disk,clock,membership|all,-membership]`
 * (serializable reads are a canary: stale reads the checker must report):
 * runs N chaos campaigns (seeds S, S+1, ...), each printing its seed, what the nemesis did
 * and a one-line verdict per checker; exits 1 if any check failed (the failing history is
 * written to a file named in the output), 3 if none failed but one ran out of budget. SIGINT/SIGTERM kill every member before exiting.
 */
import { parseArgs } from 'node:util';
import { runCampaign, verdictLine } from './campaign.js';
import { type FaultKind, parseFaults } from './nemesis.js';

const { values } = parseArgs({
  options: {
    time: { type: 'string', default: '60' },
    seed: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    workers: { type: 'string', default: '8' },
    keys: { type: 'string', default: '6' },
    quiet: { type: 'boolean', default: false },
    'serializable-reads': { type: 'boolean', default: false },
    faults: { type: 'string', default: 'all' },
  },
});
let faults: FaultKind[];
try {
  faults = parseFaults(values.faults);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}

const timeS = Number(values.time);
const nodes = Number(values.nodes);
const runs = Number(values.runs);
const seed0 = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
if (
  !(timeS > 0 && timeS <= 3600) ||
  (nodes !== 3 && nodes !== 5) ||
  !(runs >= 1 && runs <= 1000) ||
  !Number.isSafeInteger(seed0)
) {
  console.error('usage: npm run chaos -- --time <1..3600 s> --seed <int> [--nodes 3|5] [--runs 1..1000]');
  process.exit(2);
}
// Member processes are killed by the exit handler in cluster.ts.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

let failed = 0;
let undecided = 0;
for (let i = 0; i < runs; i++) {
  const seed = seed0 + i;
  console.log(`run ${i + 1}/${runs}: seed ${seed}, ${nodes} nodes, ${timeS} s`);
  try {
    const r = await runCampaign({
      seed,
      timeS,
      nodes,
      workers: Number(values.workers),
      keys: Number(values.keys),
      serializableReads: values['serializable-reads'],
      faults,
      log: values.quiet ? () => {} : (line) => console.log(line),
    });
    for (const c of r.checks)
      console.log(`  ${c.name}: ${c.pass ? 'PASS' : c.undecided ? 'UNKNOWN' : 'FAIL'} ${c.detail}`);
    if (r.artifact) console.log(`  history and report written to ${r.artifact}`);
    console.log(verdictLine(r));
    if (r.checks.some((c) => !c.pass && !c.undecided)) failed++;
    else if (!r.pass) undecided++;
  } catch (err) {
    console.log(`seed=${seed} nodes=${nodes} ERROR ${(err as Error).stack ?? err} => FAIL`);
    failed++;
  }
}
console.log(`${runs - failed - undecided}/${runs} runs passed, ${failed} failed, ${undecided} undecided`);
// 1: a checker found a violation (or a run broke); 3: no violation, but a checker ran out of budget.
process.exit(failed > 0 ? 1 : undecided > 0 ? 3 : 0);
