/**
 * A benchmark process (dist/bench/child.js): reads one TrainBenchJob as JSON from argv[2], runs
 * it and prints one JSON line (BenchResult) on stdout. The parent sets OPENBLAS_NUM_THREADS in
 * its environment before OpenBLAS loads. Logs go to stderr.
 */
import type { BenchResult, TrainBenchJob } from './train-bench.js';

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as TrainBenchJob;
  const { runTrainBench } = await import('./train-bench.js');
  const result: BenchResult = await runTrainBench(job);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
