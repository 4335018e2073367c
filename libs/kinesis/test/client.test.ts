/** Which credentials a Kinesis client uses: placeholders for a plain-HTTP emulator only, the default chain otherwise. */
import { afterEach, describe, expect, it } from 'vitest';
import { createKinesisClient, createSubscribeClient } from '../src/index.ts';

describe('createKinesisClient credentials', () => {
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
  afterEach(() => {
    for (const [k, v] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('an HTTPS endpoint (VPC endpoint, proxy) keeps the default credential chain', async () => {
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIAFROMTHEENVIRONMENT';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'secret-from-env';
    for (const make of [createKinesisClient, createSubscribeClient]) {
      const client = make({ region: 'eu-west-1', endpoint: 'https://vpce-0abc.kinesis.eu-west-1.vpce.amazonaws.com' });
      expect((await client.config.credentials()).accessKeyId).toBe('AKIAFROMTHEENVIRONMENT');
      client.destroy();
    }
  });

  it('a plain-HTTP endpoint is an emulator: placeholder credentials', async () => {
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIAFROMTHEENVIRONMENT';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'secret-from-env';
    const client = createKinesisClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4567' });
    expect((await client.config.credentials()).accessKeyId).toBe('local');
    client.destroy();
  });
});

describe('createKinesisClient deadlines', () => {
  it('a call to an endpoint that accepts the request and never answers ends with an error (the request deadline)', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    // reads the request, answers nothing: a hung connection
    const server = createServer((s) => {
      sockets.push(s);
      s.on('data', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const { ListShardsCommand } = await import('@aws-sdk/client-kinesis');
      const client = createKinesisClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}` });
      await expect(client.send(new ListShardsCommand({ StreamName: 's' }))).rejects.toThrow(/timeout/i);
      expect(sockets.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});
