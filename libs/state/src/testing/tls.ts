/**
 * A private redis-server that speaks TLS only, with AUTH, for tests: a CA and
 * a server certificate (for 127.0.0.1 and localhost) made by `openssl` in a
 * temp dir, a second CA that signed nothing (the "wrong CA"), and
 * redis-server on a free TLS port with the default user's password
 * (requirepass) and an ACL user. The passwords go into a config file in that
 * dir, not the command line. Every step has a deadline and fails with what
 * did not happen.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.ts';
import { WaitAborted, tailOf, waitUntil } from './wait.ts';

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A CA that signed nothing here: a client trusting only it must refuse the server. */
  wrongCaFile: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, timeout: 10_000, killSignal: 'SIGKILL', encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`openssl ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
}

/**
 * CA, server certificate and key, and an unrelated CA, in `dir` (P-256 keys:
 * quick to make). `names`: the certificate's subjectAltName entries; DNS
 * names alone make a client verify a hostname, as ElastiCache's do.
 */
export function makeTlsFiles(dir: string, names: readonly string[] = ['IP:127.0.0.1', 'DNS:localhost']): TlsFiles {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=hotpath test CA', ...ca], dir);
  openssl(['req', '-x509', ...ec, '-keyout', 'wrong-ca.key', '-out', 'wrong-ca.crt', '-days', '2', '-subj', '/CN=hotpath wrong CA', ...ca], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  // clientAuth too: cluster nodes present this certificate to each other on the TLS cluster bus
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), wrongCaFile: join(dir, 'wrong-ca.crt') };
}

/** Whether the server also listens on 127.0.0.2, which its certificate does not name (Linux routes all of 127/8 to lo). */
export const ALSO_UNNAMED = process.platform === 'linux';

export interface TlsRedisOptions {
  /** The default user's password (requirepass); none: the default user needs none. */
  password?: string;
  /** ACL users; `rules` default to every key, channel and command. */
  users?: { name: string; password: string; rules?: string }[];
  startTimeoutMs?: number;
}

export class TlsRedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'redis-tls-test-'));
  readonly files: TlsFiles;
  port = 0;
  private proc: ChildProcess | undefined;

  constructor(private readonly options: TlsRedisOptions = {}) {
    this.files = makeTlsFiles(this.dir);
  }

  /** rediss:// on the address the certificate names. */
  get url(): string {
    return `rediss://127.0.0.1:${this.port}`;
  }

  /** A file holding `content` in this server's dir, readable by its owner only (a secret, as compose mounts one). */
  secretFile(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, `${content}\n`, { mode: 0o600 });
    return path;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const { caFile, certFile, keyFile } = this.files;
    const lines = [
      'port 0',
      `tls-port ${this.port}`,
      // Linux also answers on 127.0.0.2, an address the certificate does not name (a host mismatch)
      `bind ${ALSO_UNNAMED ? '127.0.0.1 127.0.0.2' : '127.0.0.1'}`,
      `tls-cert-file ${certFile}`,
      `tls-key-file ${keyFile}`,
      `tls-ca-cert-file ${caFile}`,
      'tls-auth-clients no',
      `dir ${this.dir}`,
      'save ""',
      'appendonly no',
      `logfile ${join(this.dir, 'redis.log')}`,
    ];
    if (this.options.password !== undefined) lines.push(`requirepass ${this.options.password}`);
    for (const u of this.options.users ?? []) lines.push(`user ${u.name} on >${u.password} ${u.rules ?? '~* &* +@all'}`);
    const conf = join(this.dir, 'redis.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
    const proc = spawn('redis-server', [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    const stderr = tailOf(proc.stderr); // a configuration error: before any log file
    const closed = new Promise((r) => proc.once('close', r)); // (stderr read to its end)
    try {
      await waitUntil(`redis-server with TLS on ${this.port}`, this.options.startTimeoutMs ?? 10_000, async () => {
        if (proc.exitCode !== null) throw await closed.then(() => new WaitAborted(`redis-server exited with code ${proc.exitCode}: ${stderr()}`));
        return (await this.handshake()) ? true : undefined;
      });
    } catch (err) {
      await this.stop(); // a failed start leaves nothing running
      throw err;
    }
  }

  /** Whether a TLS handshake with the test CA completes (the server is up and serving its certificate). */
  private handshake(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: this.port, ca: readFileSync(this.files.caFile), timeout: 1_000 });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      const refused = (): void => done(false);
      socket.once('secureConnect', () => done(true));
      socket.once('error', refused);
      socket.once('timeout', refused); // (a handshake that hangs is no answer either)
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p !== undefined && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
