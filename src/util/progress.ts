/**
 * Progress on stderr (stdout is for --json), the one renderer of long work. A terminal gets a
 * live view that redraws in place; elsewhere (CI logs, pipes) plain lines at a steady rate.
 * - Progress: one task, a bar on one line (train's steps).
 * - LiveView: many tasks (a sweep's trials): an overall line, then one line per running task,
 *   with permanent lines (finished tasks, messages) printed above the live block.
 */

/** Whether stderr gets the live (redrawn) form: a terminal, not CI. */
export const liveTerminal = (): boolean => Boolean(process.stderr.isTTY) && !process.env.CI;

export class Progress {
  private readonly tty = liveTerminal();
  private readonly start = Date.now();
  private lastLine = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly everyMs = 10_000,
  ) {}

  update(done: number, info: string): void {
    const now = Date.now();
    const eta = done > 0 ? ((now - this.start) / done) * (this.total - done) : NaN;
    const etaText = Number.isFinite(eta) ? ` ETA ${formatSeconds(eta / 1000)}` : '';
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * done) / this.total);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      process.stderr.write(`\r${this.label} [${bar}] ${done}/${this.total} ${info}${etaText}\x1b[K`);
    } else if (now - this.lastLine >= this.everyMs || done === this.total) {
      this.lastLine = now;
      process.stderr.write(`${this.label} ${done}/${this.total} ${info}${etaText}\n`);
    }
  }

  done(info: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${this.label} done: ${info} in ${formatSeconds((Date.now() - this.start) / 1000)}\n`);
  }
}

interface Task {
  label: string;
  steps: number;
  step: number;
  loss: number;
  tps: number;
  printed: number;
}

/**
 * Many tasks at once. On a terminal a live block (an overall line with the ETA, then one line per
 * running task: label, step, loss, tokens/s); elsewhere plain lines: start, a step line per task
 * every `everyMs`, end. The ETA comes from the steps done so far (setup time included).
 */
export class LiveView {
  private readonly tty = liveTerminal();
  private readonly t0 = Date.now();
  private finished = 0;
  private failed = 0;
  private doneWork = 0;
  private readonly running = new Map<string, Task>();
  private drawn = 0;
  private lastDraw = 0;

  /** title: the live block's first line starts with it; count and work: tasks and steps in all */
  constructor(
    private readonly title: string,
    private readonly count: number,
    private readonly work: number,
    private readonly everyMs = 10_000,
  ) {}

  start(id: string, label: string, steps: number): void {
    this.running.set(id, { label, steps, step: 0, loss: NaN, tps: NaN, printed: 0 });
    if (!this.tty) this.line(`start ${label}`);
    else this.draw(true);
  }

  step(id: string, step: number, loss: number, tokensPerSec: number): void {
    const r = this.running.get(id);
    if (!r) return;
    Object.assign(r, { step, loss, tps: tokensPerSec });
    if (!this.tty && Date.now() - r.printed >= this.everyMs) {
      r.printed = Date.now();
      this.line(`${this.taskLine(r)} | ${this.overall()}`);
    }
    if (this.tty) this.draw(false);
  }

  /** A task that finished (ok or not): its line, with the overall progress after it. */
  end(id: string, text: string, o: { steps: number; failed: boolean }): void {
    this.running.delete(id);
    this.finished++;
    this.doneWork += o.steps;
    if (o.failed) this.failed++;
    this.line(`${text} | ${this.overall()}`);
  }

  /** A task that stopped unfinished: its line, not counted as finished. */
  drop(id: string, text: string): void {
    this.running.delete(id);
    this.line(text);
  }

  /** A permanent line (above the live block on a terminal). */
  line(text: string): void {
    this.clear();
    process.stderr.write(text + '\n');
    if (this.tty) this.draw(true);
  }

  close(): void {
    this.clear();
  }

  private taskLine(r: Task): string {
    const loss = Number.isFinite(r.loss) ? r.loss.toFixed(3) : '-';
    const tps = Number.isFinite(r.tps) ? Math.round(r.tps) : '-';
    return `${r.label}  step ${r.step}/${r.steps}  loss ${loss}  ${tps} tok/s`;
  }

  private overall(): string {
    const done = this.doneWork + [...this.running.values()].reduce((s, r) => s + r.step, 0);
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed * (this.work - done)) / done : NaN;
    const failed = this.failed ? ` (${this.failed} failed)` : '';
    return (
      `${this.finished}/${this.count} finished${failed}, ${this.running.size} running` +
      (Number.isFinite(eta) ? `, ETA ${formatSeconds(eta)}` : '')
    );
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = process.stderr.columns || 120;
    const lines = [
      `${this.title}: ${this.overall()}`,
      ...[...this.running.values()].map((r) => '  ' + this.taskLine(r)),
    ];
    const up = this.drawn ? `\x1b[${this.drawn}A\r` : '';
    process.stderr.write(up + lines.map((l) => `\x1b[2K${l.slice(0, width - 1)}\n`).join('') + '\x1b[J');
    this.drawn = lines.length;
  }

  private clear(): void {
    if (!this.tty || !this.drawn) return;
    process.stderr.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }
}

export function formatSeconds(s: number): string {
  // round first, then split: 3599.6 s is 1h00m, not 59m60s
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  const m = Math.round(t / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
