/** A progress bar on stderr: redrawn in place on a terminal, a line per 10 % otherwise (CI logs). */
export class Progress {
  private lastDecile = -1;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string) {}

  update(fraction: number, detail = ''): void {
    const f = Math.max(0, Math.min(1, fraction));
    if (this.tty) {
      const width = 30;
      const filled = Math.round(f * width);
      process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)} % ${detail}   `);
      return;
    }
    const decile = Math.floor(f * 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`${this.label} ${decile * 10} % ${detail}\n`);
    }
  }

  done(detail = ''): void {
    this.update(1, detail);
    if (this.tty) process.stderr.write('\n');
  }
}
