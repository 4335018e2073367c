/** A tiny indentation-aware line buffer for emitting TypeScript. */
export class CodeWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
    return this;
  }

  /** Emits `head {`, the body one level deeper, then `}` (or `tail`). */
  block(head: string, body: () => void, tail = '}'): this {
    this.line(head === '' ? '{' : `${head} {`);
    this.depth++;
    body();
    this.depth--;
    this.line(tail);
    return this;
  }

  doc(text: string | undefined): this {
    if (text === undefined || text.trim() === '') return this;
    const words = text.replace(/\s+/g, ' ').trim();
    this.line(`/** ${words.replace(/\*\//g, '* /')} */`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
