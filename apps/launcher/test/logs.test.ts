/**
 * What the terminal shows of a line (pino-pretty in a terminal, JSON otherwise, no colour under NO_COLOR)
 * and what the log files keep (JSON lines per service, the previous run's file kept beside).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLine, lineFormatter, LogFiles, parseRecord } from '../src/logs.ts';

const record = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 7, hostname: 'h', service: 'ingestor', msg: 'stream closed', reason: 'closed_1006' });
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI escape is what is looked for
const ANSI = /\x1b\[/;

describe('lineFormatter', () => {
  it('json: the record as written with svc first; a text line becomes a record; the launcher adds level and time', () => {
    const f = lineFormatter('json', true);
    expect(JSON.parse(f.service('ingestor', 36, record))).toEqual({ svc: 'ingestor', ...(JSON.parse(record) as object) });
    expect(JSON.parse(f.service('prometheus', 31, 'ts=1 level=info msg="ready"'))).toEqual({ svc: 'prometheus', msg: 'ts=1 level=info msg="ready"' });
    const own = JSON.parse(f.launcher('up', { page: 'http://x/' }, 'warn')) as Record<string, unknown>;
    expect(own).toMatchObject({ svc: 'launcher', level: 40, msg: 'up', page: 'http://x/' });
    expect(typeof own['time']).toBe('string');
  });

  it('pretty: one line per record through pino-pretty, behind the service name; the same service fields left out', () => {
    const line = lineFormatter('pretty', true).service('ingestor', 36, record);
    expect(line).toMatch(ANSI);
    expect(line).not.toContain('\n');
    const plain = lineFormatter('pretty', false).service('ingestor', 36, record);
    expect(plain).not.toMatch(ANSI); // NO_COLOR
    expect(plain).toMatch(/^ingestor {7}\[\d\d:\d\d:\d\d\.\d{3}\] WARN: stream closed \{"reason":"closed_1006"\}$/);
    expect(plain).not.toMatch(/hostname|pid|"service"/);
    // a line that is not a record is shown as it came
    expect(lineFormatter('pretty', false).service('prometheus', 31, 'ts=1 level=info')).toBe('prometheus     ts=1 level=info');
    expect(lineFormatter('pretty', false).launcher('stopping', { x: 1 })).toMatch(/^launcher {7}\[[\d:.]+\] INFO: stopping$/);
  });

  it('parseRecord takes JSON objects only', () => {
    expect(parseRecord('{"a":1}')).toEqual({ a: 1 });
    for (const text of ['[1]', '{not json', 'plain', '', 'null']) expect(parseRecord(text)).toBeUndefined();
    expect(jsonLine('x', '{"msg":"m"}')).toBe('{"svc":"x","msg":"m"}');
  });
});

describe('LogFiles', () => {
  it("one file per service, started afresh each run with the previous run's kept; nothing written after close", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'launcher-logs-')), 'logs');
    const first = new LogFiles(dir);
    first.write('ingestor', '{"n":1}');
    first.write('ingestor', '{"n":2}');
    first.write('launcher', '{"n":0}');
    await first.close();
    first.write('ingestor', '{"late":true}');
    expect(readFileSync(first.path('ingestor'), 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    const second = new LogFiles(dir);
    second.write('ingestor', '{"n":3}');
    await second.close();
    expect(readFileSync(join(dir, 'ingestor.log'), 'utf8')).toBe('{"n":3}\n');
    expect(readFileSync(join(dir, 'ingestor.previous.log'), 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    expect(readFileSync(join(dir, 'launcher.log'), 'utf8')).toBe('{"n":0}\n');
  });

  it('a file that reaches its size bound is moved aside and started afresh: at most two files a service', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'launcher-logs-')), 'logs');
    const files = new LogFiles(dir, 20); // each line below is 8 bytes: two fit, the third starts a new file
    for (let n = 1; n <= 7; n++) files.write('aggregator', `{"n":${n}}`);
    await files.close();
    expect(readFileSync(join(dir, 'aggregator.log'), 'utf8')).toBe('{"n":7}\n');
    expect(readFileSync(join(dir, 'aggregator.previous.log'), 'utf8')).toBe('{"n":5}\n{"n":6}\n');
    expect(readdirSync(dir).sort()).toEqual(['aggregator.log', 'aggregator.previous.log']);
  });

  it('a log directory that cannot be made: lines are not written, nothing throws, the file is not tried again', async () => {
    const base = mkdtempSync(join(tmpdir(), 'launcher-logs-'));
    writeFileSync(join(base, 'not-a-dir'), '');
    const files = new LogFiles(join(base, 'not-a-dir', 'logs'));
    expect(() => files.write('ingestor', '{"n":1}')).not.toThrow();
    expect(files.open('ingestor')).toBeUndefined();
    await files.close();
  });
});
