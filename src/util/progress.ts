/**
 * Progress for long work: a bar that rewrites one line on a terminal, plain log lines at a
 * steady rate otherwise (CI logs). Always on stderr: stdout is for --json.
 */
export class Progress {
  private readonly tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  private readonly start = Date.now();
  private lastLine = 0;

  constructor(private readonly label: string, private readonly total: number, private readonly everyMs = 10_000) {}

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

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}
