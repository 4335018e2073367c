/**
 * The launcher's own redis-server: it answers, stops cleanly, and does not
 * outlive a launcher killed with SIGKILL (children run in their own process
 * groups, so nothing else would stop it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { SecretFileError } from '@hotpath/config';
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

  it('uses REDIS_URL with its password from REDIS_PASSWORD_FILE, and hands the services the file, not the password', async () => {
    const server = await resolveRedis(undefined);
    try {
      const admin = new Redis(server.url);
      await admin.config('SET', 'requirepass', 'pw-in-a-file');
      admin.disconnect();
      const file = join(mkdtempSync(join(tmpdir(), 'launcher-secret-')), 'redis-password');
      writeFileSync(file, 'pw-in-a-file\n');
      const h = await resolveRedis(server.url, file);
      expect(h.pid).toBeUndefined(); // it answered: nothing spawned
      expect(h.url).toBe(server.url);
      expect(h.clientEnv).toEqual({ REDIS_URL: server.url, REDIS_PASSWORD_FILE: file });
      await expect(resolveRedis(server.url, `${file}.missing`)).rejects.toBeInstanceOf(SecretFileError);
    } finally {
      await server.stop();
    }
  });
});
