/**
 * `pnpm start --monitoring` as someone runs it in a terminal (a real pseudo-terminal: util-linux's script;
 * the whole process tree real — pnpm, the launcher, redis-server, kinesalite, the four services, Debian's
 * Prometheus and Alertmanager):
 * - once up, the endpoints are in .hotpath/state.json (the tools' way to this stack) and the terminal says
 *   where the page, each /metrics, Prometheus, Alertmanager and the logs are; pretty lines, not JSON; no
 *   service is called "down" before it has answered once ("starting");
 * - Prometheus has the project's rules loaded and scrapes every service up, at the launcher's ports (the Redis
 *   exporter too, where installed);
 *   Alertmanager answers and is Prometheus' alertmanager; inference is given both URLs for its page;
 * - Ctrl-C typed at the terminal stops everything: exit code 0, no ELIFECYCLE from pnpm, no process left,
 *   the state file gone, each service's log in its file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { inspectLauncherState, type LauncherState, readLauncherState } from '@hotpath/config';
import { freePort } from '@hotpath/service';
import { findBinary, REDIS_EXPORTER_NAMES } from '../src/monitoring.ts';
import { alive, groupAlive } from './support/alive.ts';
import { until } from './support/until.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const exporter = findBinary(REDIS_EXPORTER_NAMES) !== undefined;
const stateRoot = mkdtempSync(join(tmpdir(), 'launcher-terminal-'));
let term: ChildProcess;
let output = '';
let state: LauncherState;
/** The launcher's own pid, once known (from the state file). */
let launcherPid: number | undefined;

/** The launcher's own lines (pretty, NO_COLOR): `launcher        [12:00:00.000] INFO: <msg>`. */
const notes = (): string[] =>
  output
    .split(/\r?\n/)
    .map((l) => /^launcher {7}\[[\d:.]+\] \w+: (.*)$/.exec(l)?.[1])
    .filter((m): m is string => m !== undefined);
/** Every pid the launcher announced (each child leads its own process group), and its redis-server's. */
const pids = (): number[] =>
  notes().flatMap((m) => {
    const p = / started \(pid (\d+)\)$/.exec(m) ?? /\(spawned, pid (\d+)\)$/.exec(m);
    return p ? [Number(p[1])] : [];
  });
const json = async <T>(url: string): Promise<T> => (await fetch(url, { signal: AbortSignal.timeout(5_000) })).json() as Promise<T>;

beforeAll(async () => {
  const names = ['SIM_PORT', 'INGESTOR_PORT', 'AGGREGATOR_PORT', 'INFERENCE_PORT', 'KINESIS_EMULATOR_PORT'];
  const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, String(await freePort())])));
  const env: Record<string, string | undefined> = { ...process.env, ...ports, HOTPATH_STATE_ROOT: stateRoot, NO_COLOR: '1', LOG_LEVEL: 'warn' };
  for (const name of ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'LAUNCHER_LOG_FORMAT', 'LOG_FORMAT', 'BINANCE_API_KEY', 'BINANCE_API_KEY_FILE', 'CI']) delete env[name];
  // -e: script exits with pnpm's code; the terminal is script's pseudo-terminal, whose foreground group pnpm leads
  term = spawn('script', ['-qfec', 'pnpm start --monitoring', '/dev/null'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  for (const s of [term.stdout!, term.stderr!]) s.on('data', (d: Buffer) => (output += d.toString()));
});

afterAll(() => {
  if (term.exitCode === null) {
    try {
      process.kill(-term.pid!, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const pid of pids()) if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  // (a launcher still there: its children's orphan guards stop them once it is gone)
  if (launcherPid !== undefined && alive(launcherPid)) process.kill(launcherPid, 'SIGKILL');
});

describe('pnpm start --monitoring in a terminal', () => {
  it('once up: the state file for the tools, and where everything is', async () => {
    state = await until('.hotpath/state.json', 150_000, () => readLauncherState(stateRoot));
    launcherPid = state.pid;
    // (the Redis exporter where its binary is installed, as on Debian with prometheus-redis-exporter)
    expect(Object.keys(state.services).sort()).toEqual(['aggregator', 'alertmanager', 'exchange-sim', 'inference', 'ingestor', 'prometheus', ...(exporter ? ['redis-exporter'] : [])]);
    expect(state).toMatchObject({ version: 1, kinesisStream: 'market-events', logDir: join(stateRoot, '.hotpath', 'logs'), page: `${state.services['inference']!.url}/` });
    expect(state.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(state.prometheus).toBe(state.services['prometheus']!.url);
    expect(state.alertmanager).toBe(state.services['alertmanager']!.url);
    expect(alive(state.pid)).toBe(true);
    // (the file is written first, then said: the terminal's lines may still be on their way)
    await until('where everything is', 30_000, () => (notes().some((m) => m.startsWith('state ')) ? true : undefined));
    const said = notes();
    expect(said).toContain(`up: live page ${state.page}`);
    expect(said.find((m) => m.startsWith('metrics: '))).toBe(
      `metrics: ${['exchange-sim', 'ingestor', 'aggregator', 'inference', ...(exporter ? ['redis-exporter'] : [])].map((n) => `${n} ${state.services[n]!.url}/metrics`).join(' · ')}`,
    );
    expect(said).toContain(`prometheus ${state.prometheus}/alerts · alertmanager ${state.alertmanager}/`);
    expect(said.some((m) => m.startsWith(`logs ${state.logDir}/ (`))).toBe(true);
    // pretty in a terminal: the services' lines too (no JSON record on screen)
    expect(output.split(/\r?\n/).filter((l) => l.startsWith('{'))).toEqual([]);
    // before everything had answered, a service not answering yet was "starting", never "down"
    const upAt = said.findIndex((m) => m.startsWith('up: '));
    for (const line of said.slice(0, upAt).filter((m) => m.startsWith('status: '))) expect(line).not.toContain(' down');
  }, 180_000);

  it("Prometheus runs the project's rules, scrapes every service up and sends to the Alertmanager beside it", async () => {
    const files = readdirSync(join(root, 'prometheus/rules')).filter((f) => f.endsWith('.yml'));
    const expected = files.flatMap((f) => (parse(readFileSync(join(root, 'prometheus/rules', f), 'utf8')) as { groups: { rules: unknown[] }[] }).groups.flatMap((g) => g.rules)).length;
    const rules = await until('the rules loaded', 60_000, async () => {
      const r = await json<{ data: { groups: { rules: unknown[] }[] } }>(`${state.prometheus}/api/v1/rules`);
      const n = r.data.groups.flatMap((g) => g.rules).length;
      return n > 0 ? n : undefined;
    });
    expect(rules).toBe(expected);
    type Target = { labels: { job: string }; scrapeUrl: string; health: string };
    const targets = await until('every target up', 90_000, async () => {
      const t = (await json<{ data: { activeTargets: Target[] } }>(`${state.prometheus}/api/v1/targets`)).data.activeTargets;
      return t.length > 0 && t.every((x) => x.health === 'up') ? t : undefined;
    });
    const scraped = Object.fromEntries(targets.map((t) => [t.labels.job, new URL(t.scrapeUrl).origin]));
    expect(scraped).toEqual({
      inference: state.services['inference']!.url,
      aggregator: state.services['aggregator']!.url,
      ingestor: state.services['ingestor']!.url,
      'exchange-sim': state.services['exchange-sim']!.url,
      prometheus: state.prometheus,
      ...(exporter ? { 'redis-exporter': state.services['redis-exporter']!.url } : {}),
    });
    if (exporter) {
      // the exporter reaches the launcher's Redis: RedisDown and the memory alert have their input
      const redisUp = await until('redis_up', 60_000, async () => {
        const r = await json<{ data: { result: { value: [number, string] }[] } }>(`${state.prometheus}/api/v1/query?query=redis_up`);
        return r.data.result[0]?.value[1];
      });
      expect(redisUp).toBe('1');
    }
    const ams = await until('the alertmanager discovered', 30_000, async () => {
      const a = (await json<{ data: { activeAlertmanagers: { url: string }[] } }>(`${state.prometheus}/api/v1/alertmanagers`)).data.activeAlertmanagers;
      return a.length > 0 ? a : undefined;
    });
    expect(new URL(ams[0]!.url).origin).toBe(state.alertmanager);
    expect((await fetch(`${state.alertmanager}/-/ready`)).status).toBe(200);
    // inference links them on its page
    const inferencePid = [...notes()]
      .reverse()
      .map((m) => /^inference started \(pid (\d+)\)$/.exec(m)?.[1])
      .find((p) => p !== undefined);
    const environ = readFileSync(`/proc/${inferencePid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`INFERENCE_PROMETHEUS_URL=${state.prometheus}`);
    expect(environ).toContain(`INFERENCE_ALERTMANAGER_URL=${state.alertmanager}`);
  }, 200_000);

  it('Ctrl-C: exit code 0, no ELIFECYCLE, no process left, the state file gone, the logs kept', async () => {
    const all = pids();
    expect(all.length).toBeGreaterThanOrEqual(exporter ? 8 : 7); // redis-server, four services, Prometheus, Alertmanager (and the exporter)
    const exited = new Promise<number | null>((r) => term.once('exit', (code) => r(code)));
    term.stdin!.write('\x03'); // typed at the terminal, as a user does
    expect(await exited).toBe(0);
    expect(output).not.toContain('ELIFECYCLE');
    expect(notes().at(-1)).toBe('stopped');
    await vi.waitFor(() => expect(all.filter(groupAlive)).toEqual([]), { timeout: 30_000, interval: 100 });
    expect(alive(state.pid)).toBe(false);
    expect(inspectLauncherState(stateRoot)).toEqual({ reason: 'missing' });
    for (const svc of ['launcher', ...Object.keys(state.services)]) {
      const file = join(state.logDir, `${svc}.log`);
      expect(existsSync(file), file).toBe(true);
      for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) expect((JSON.parse(line) as { svc: string }).svc).toBe(svc);
    }
  }, 60_000);
});
