import { loadSweep } from './dist/sweep/spec.js';
const p = loadSweep(process.argv[2], process.argv.slice(3));
console.log(p.name, p.specHash.slice(0, 12), p.trials.length);
for (const t of p.trials) console.log(t.id, JSON.stringify(t.meta), t.config.model.moe?.routed, t.config.model.engram?.baseSizes);
