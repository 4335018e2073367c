/**
 * TLS and AUTH for real: redis-server on a TLS port with a certificate made by
 * openssl, a password and ACL users. The connection factory connects with the
 * right CA and password, and refuses at start — a typed error naming the
 * setting, never the secret — with a wrong CA, a wrong password, a user
 * without rights, a host the certificate does not name, nothing listening.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection, RedisConnectionError, connectRedis, startCheck, type RedisClient, type RedisConnectionSettings } from '../src/connection.ts';
import { RedisServer, freePort } from '../src/testing/redis-server.ts';
import { ALSO_UNNAMED, TlsRedisServer } from '../src/testing/tls.ts';

const secret = (): string => randomBytes(16).toString('hex');

/** The error connectRedis fails with (the test fails if it connects). */
async function refusal(settings: RedisConnectionSettings | RedisConnection, readyTimeoutMs = 5_000): Promise<RedisConnectionError> {
  let client: RedisClient | undefined;
  try {
    client = await connectRedis(settings, { name: 'tls-test', readyTimeoutMs });
  } catch (err) {
    expect(err).toBeInstanceOf(RedisConnectionError);
    return err as RedisConnectionError;
  }
  client.disconnect();
  throw new Error('connected, but a refusal was expected');
}

/** No way the error reaches a log shows `text`: message, stack, JSON, inspect (what `{ err }` logging prints). */
function expectNowhereIn(err: Error, ...texts: string[]): void {
  const shown = [err.message, String(err.stack), JSON.stringify(err), inspect(err, { depth: 10, showHidden: true })].join('\n');
  for (const t of texts) expect(shown).not.toContain(t);
}

describe('Redis over TLS with AUTH (redis-server --tls-port, certificates by openssl)', () => {
  const password = secret();
  const servicePassword = secret();
  // (made in beforeAll: a describe body also runs when a filter skips its tests, and would leave the dir behind)
  let server: TlsRedisServer;
  beforeAll(async () => {
    server = new TlsRedisServer({
      password,
      users: [
        { name: 'svc', password: servicePassword },
        // may PING and nothing else: not even INFO, which the client's ready check runs
        { name: 'pinger', password: servicePassword, rules: '~* -@all +ping +hello +auth +client|setname' },
      ],
    });
    await server.start();
  });
  afterAll(() => server.stop());

  it('connects over TLS with the right CA and password (default user, an ACL user in the URL or in REDIS_USERNAME)', async () => {
    const passwordFile = server.secretFile('password', password);
    const client = await connectRedis({ url: server.url, tlsCaFile: server.files.caFile, passwordFile }, { name: 'tls-test', commandTimeout: 2_000 });
    await client.set('tls:k', 'v');
    expect(await client.get('tls:k')).toBe('v');
    expect(await client.call('ACL', 'WHOAMI')).toBe('default');
    // the connection is TLS: the server counts it among its TLS clients
    expect(await client.call('CLIENT', 'INFO')).toMatch(/name=tls-test/);
    client.disconnect();

    const serviceFile = server.secretFile('svc-password', servicePassword);
    const inUrl = await connectRedis({ url: `rediss://svc@127.0.0.1:${server.port}`, tlsCaFile: server.files.caFile, passwordFile: serviceFile }, { name: 'svc' });
    expect(await inUrl.call('ACL', 'WHOAMI')).toBe('svc');
    inUrl.disconnect();
    const inSetting = await connectRedis({ url: server.url, username: 'svc', tlsCaFile: server.files.caFile, passwordFile: serviceFile }, { name: 'svc' });
    expect(await inSetting.call('ACL', 'WHOAMI')).toBe('svc');
    inSetting.disconnect();
  });

  it('a wrong CA fails at start: redis_tls_failed naming REDIS_TLS_CA_FILE; no CA at all names it too', async () => {
    const passwordFile = server.secretFile('password', password);
    const wrong = await refusal({ url: server.url, tlsCaFile: server.files.wrongCaFile, passwordFile });
    expect(wrong.code).toBe('redis_tls_failed');
    expect(wrong.variable).toBe('REDIS_TLS_CA_FILE');
    expect(wrong.message).toMatch(/REDIS_TLS_CA_FILE: TLS handshake with 127\.0\.0\.1:\d+ failed: the server's certificate is not signed by the CA in REDIS_TLS_CA_FILE/);
    expectNowhereIn(wrong, password);

    // the system's CAs do not know the test CA (as with a private CA on ElastiCache without the file)
    const none = await refusal({ url: server.url, passwordFile });
    expect(none.code).toBe('redis_tls_failed');
    expect(none.message).toMatch(/not signed by a CA this system trusts: set REDIS_TLS_CA_FILE/);
  });

  it.runIf(ALSO_UNNAMED)('a host the certificate does not name: redis_tls_failed naming REDIS_URL', async () => {
    const err = await refusal({ url: `rediss://127.0.0.2:${server.port}`, tlsCaFile: server.files.caFile, passwordFile: server.secretFile('password', password) });
    expect(err.code).toBe('redis_tls_failed');
    expect(err.variable).toBe('REDIS_URL');
    expect(err.message).toMatch(/does not name the host of REDIS_URL/);
  });

  it('a wrong password fails at start: redis_auth_failed naming REDIS_PASSWORD_FILE, and neither password is anywhere in the error', async () => {
    const wrongPassword = secret();
    const started = Date.now();
    const err = await refusal({ url: server.url, tlsCaFile: server.files.caFile, passwordFile: server.secretFile('wrong', wrongPassword) }, 10_000);
    expect(Date.now() - started).toBeLessThan(5_000); // at once: retrying cannot fix a password
    expect(err.code).toBe('redis_auth_failed');
    expect(err.variable).toBe('REDIS_PASSWORD_FILE');
    expect(err.message).toMatch(/^redis \(tls-test\): REDIS_PASSWORD_FILE: 127\.0\.0\.1:\d+ refused the password/);
    expectNowhereIn(err, wrongPassword, password);

    const wrongUser = await refusal({ url: server.url, username: 'svc', tlsCaFile: server.files.caFile, passwordFile: server.secretFile('wrong', wrongPassword) });
    expect(wrongUser.message).toMatch(/refused the user \(REDIS_USERNAME or REDIS_URL\) and password/);
    expectNowhereIn(wrongUser, wrongPassword, servicePassword);

    // no password where one is required
    const none = await refusal({ url: server.url, tlsCaFile: server.files.caFile });
    expect(none.code).toBe('redis_auth_failed');
    expect(none.message).toMatch(/REDIS_PASSWORD_FILE: .* requires a password and none is set/);
  });

  it('a user that may not run INFO still connects (ioredis skips its ready check; nothing here needs INFO on one server)', async () => {
    const client = await connectRedis({ url: server.url, username: 'pinger', tlsCaFile: server.files.caFile, passwordFile: server.secretFile('pinger', servicePassword) }, { name: 'tls-test' });
    expect(await client.ping()).toBe('PONG');
    await expect(client.get('k')).rejects.toThrow(/NOPERM/);
    client.disconnect();
  });

  it('rediss:// to a server without TLS: redis_tls_failed naming REDIS_URL; redis:// to a TLS port: unreachable, with the hint', async () => {
    const plain = new RedisServer();
    await plain.start();
    try {
      // the server closes an idle half-open client after 1 s: a TLS client that hung in its handshake learns there is no TLS
      const admin = await connectRedis({ url: plain.url }, { name: 'admin' });
      await admin.config('SET', 'timeout', '1');
      admin.disconnect();
      const err = await refusal({ url: `rediss://127.0.0.1:${plain.port}`, tlsCaFile: server.files.caFile }, 8_000);
      expect(err.code).toBe('redis_tls_failed');
      expect(err.variable).toBe('REDIS_URL');
      expect(err.message).toMatch(/no TLS handshake with 127\.0\.0\.1:\d+: rediss:\/\/ needs the server's TLS port/);
    } finally {
      await plain.stop();
    }
    const reset = await refusal({ url: `redis://127.0.0.1:${server.port}` }, 1_000);
    expect(reset.code).toBe('redis_unreachable');
    expect(reset.message).toMatch(/ECONNRESET.*; if the server requires TLS, use rediss:\/\//);
  });

  it("startCheck, every service's check at start: ready is true; no answer is false and logged (the service starts and retries); a refused password is logged and thrown", async () => {
    const logged: { level: string; obj: object; msg: string }[] = [];
    const log = { warn: (obj: object, msg: string) => logged.push({ level: 'warn', obj, msg }), error: (obj: object, msg: string) => logged.push({ level: 'error', obj, msg }) };
    const check = async (settings: RedisConnectionSettings, readyTimeoutMs: number): Promise<boolean> => {
      const connection = new RedisConnection(settings);
      const role = { name: 'start-check', readyTimeoutMs };
      const client = connection.client(role);
      try {
        return await startCheck(connection, [[client, role]], log);
      } finally {
        client.disconnect();
      }
    };
    const passwordFile = server.secretFile('password', password);
    expect(await check({ url: server.url, tlsCaFile: server.files.caFile, passwordFile }, 5_000)).toBe(true);
    expect(logged).toEqual([]);

    expect(await check({ url: `rediss://127.0.0.1:${await freePort()}`, tlsCaFile: server.files.caFile }, 500)).toBe(false);
    expect(logged).toEqual([{ level: 'warn', obj: { err: expect.any(RedisConnectionError), variable: 'REDIS_URL' }, msg: 'Redis not reachable at start: retrying in the background' }]);

    const wrongPassword = secret();
    await expect(check({ url: server.url, tlsCaFile: server.files.caFile, passwordFile: server.secretFile('wrong-start', wrongPassword) }, 5_000)).rejects.toMatchObject({ code: 'redis_auth_failed' });
    expect(logged[1]).toEqual({ level: 'error', obj: { err: expect.any(RedisConnectionError), variable: 'REDIS_PASSWORD_FILE' }, msg: 'Redis refused the connection: fix the setting named' });
    expectNowhereIn((logged[1]!.obj as { err: RedisConnectionError }).err, wrongPassword, password);
  });

  it('nothing listening: redis_unreachable within the deadline, naming REDIS_URL', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await refusal({ url: `rediss://127.0.0.1:${port}`, tlsCaFile: server.files.caFile }, 1_000);
    const took = Date.now() - started;
    expect(err.code).toBe('redis_unreachable');
    expect(err.variable).toBe('REDIS_URL');
    expect(err.message).toMatch(new RegExp(`no answer from 127\\.0\\.0\\.1:${port} within 1000 ms \\(ECONNREFUSED`));
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3_000);
  });

  it('settings that cannot work are refused before any connection, naming the variable', () => {
    const refused = (s: RedisConnectionSettings): RedisConnectionError => {
      try {
        new RedisConnection(s);
      } catch (err) {
        expect(err).toBeInstanceOf(RedisConnectionError);
        expect((err as RedisConnectionError).code).toBe('redis_setting_invalid');
        return err as RedisConnectionError;
      }
      throw new Error('accepted');
    };
    expect(refused({ url: server.url, tlsCaFile: `${server.dir}/missing.crt` }).message).toMatch(/REDIS_TLS_CA_FILE: .*missing\.crt: cannot read \(ENOENT\)/);
    expect(refused({ url: server.url, tlsCaFile: server.files.keyFile }).message).toMatch(/REDIS_TLS_CA_FILE: .*server\.key: not a PEM certificate/);
    expect(refused({ url: server.url, passwordFile: `${server.dir}/missing` }).message).toMatch(/REDIS_PASSWORD_FILE: .*missing: cannot open \(ENOENT\)/);
    expect(refused({ url: `redis://127.0.0.1:${server.port}`, tlsCaFile: server.files.caFile }).variable).toBe('REDIS_TLS_CA_FILE');
    const inUrl = refused({ url: `rediss://:${password}@127.0.0.1:1`, passwordFile: server.secretFile('password', password) });
    expect(inUrl.variable).toBe('REDIS_URL');
    expectNowhereIn(inUrl, password);
    expect(refused({ url: 'redis://127.0.0.1:1/x' }).message).toMatch(/REDIS_URL: its path is not a database number/);
  });

  it('a password in the URL works when no file is given; the client object never shows it', async () => {
    const connection = new RedisConnection({ url: `rediss://:${password}@127.0.0.1:${server.port}`, tlsCaFile: server.files.caFile });
    expect(inspect(connection, { depth: 5, showHidden: true })).not.toContain(password);
    const client = await connection.connect({ name: 'tls-test' });
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});
