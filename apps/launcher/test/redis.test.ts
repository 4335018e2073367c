/**
 * The launcher's own redis-server: it answers, stops cleanly, and does not
 * outlive a launcher killed with SIGKILL (children run in their own process
 * groups, so nothing else would stop it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { RedisConnectionError } from '@hotpath/state';
import { resolveRedis } from '../src/redis.ts';
import { alive } from './support/alive.ts';

describe('resolveRedis', () => {
  it('spawns a private redis-server when REDIS_URL does not answer, and stops it', async () => {
    const h = await resolveRedis({ url: 'redis://127.0.0.1:1' });
    expect(h.pid).toBeGreaterThan(0);
    expect(h.unusedBecause).toMatch(/^redis \(launcher-check\): REDIS_URL: no answer from 127\.0\.0\.1:1 within 2000 ms/);
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

  it('uses REDIS_URL with its password from REDIS_PASSWORD_FILE, and hands the services the file, not the password; a wrong one is an error naming it', async () => {
    const server = await resolveRedis(undefined);
    try {
      const admin = new Redis(server.url);
      await admin.config('SET', 'requirepass', 'pw-in-a-file');
      admin.disconnect();
      const dir = mkdtempSync(join(tmpdir(), 'launcher-secret-'));
      const file = join(dir, 'redis-password');
      writeFileSync(file, 'pw-in-a-file\n');
      const h = await resolveRedis({ url: server.url, passwordFile: file });
      expect(h.pid).toBeUndefined(); // it answered: nothing spawned
      expect(h.url).toBe(server.url);
      expect(h.clientEnv).toEqual({ REDIS_URL: server.url, REDIS_PASSWORD_FILE: file });
      const missing = await resolveRedis({ url: server.url, passwordFile: `${file}.missing` }).catch((err: unknown) => err);
      expect(missing).toMatchObject({ name: 'RedisConnectionError', code: 'redis_setting_invalid', variable: 'REDIS_PASSWORD_FILE' });
      // a password the server refuses: not silently replaced by a private server
      writeFileSync(join(dir, 'wrong'), 'not-the-password\n');
      const wrong = await resolveRedis({ url: server.url, passwordFile: join(dir, 'wrong') }).catch((err: unknown) => err);
      expect(wrong).toBeInstanceOf(RedisConnectionError);
      expect(wrong).toMatchObject({ code: 'redis_auth_failed', variable: 'REDIS_PASSWORD_FILE' });
      expect(String((wrong as Error).message)).not.toContain('not-the-password');
    } finally {
      await server.stop();
    }
  });

  it('hands the services every Redis variable the operator set, file paths made absolute, and nothing it did not', async () => {
    const server = await resolveRedis(undefined);
    try {
      // the default user without requirepass takes any password: the file only has to be readable
      const file = join(mkdtempSync(join(tmpdir(), 'launcher-secret-')), 'pw');
      writeFileSync(file, 'any-password\n');
      const used = await resolveRedis({ url: server.url, username: 'default', passwordFile: relative(process.cwd(), file) });
      expect(used.pid).toBeUndefined();
      expect(used.clientEnv).toEqual({ REDIS_URL: server.url, REDIS_USERNAME: 'default', REDIS_PASSWORD_FILE: file });
    } finally {
      await server.stop();
    }
  });
});
