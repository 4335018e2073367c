/**
 * The launcher's own redis-server: it answers, stops cleanly, and does not
 * outlive a launcher killed with SIGKILL (children run in their own process
 * groups, so nothing else would stop it).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { resolveRedis } from '../src/redis.ts';
import { alive } from './support/alive.ts';


describe('resolveRedis', () => {
  it('spawns a private redis-server when REDIS_URL does not answer, and stops it', async () => {
    const h = await resolveRedis('redis://127.0.0.1:1');
    expect(h.pid).toBeGreaterThan(0);
    const r = new Redis(h.url);
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
    await h.stop();
    expect(alive(h.pid!)).toBe(false);
  });

  it('its redis-server goes away when the process that started it is SIGKILLed', async () => {
    const redisModule = fileURLToPath(new URL('../src/redis.ts', import.meta.url));
    const code = `import(${JSON.stringify(redisModule)}).then(async (m) => { const h = await m.resolveRedis(undefined); console.log(h.pid); setInterval(() => {}, 1000); });`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) => createInterface({ input: owner.stdout! }).once('line', (l) => resolve(Number(l))));
    expect(alive(pid)).toBe(true);
    owner.kill('SIGKILL');
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 10_000, interval: 100 });
  });
});
