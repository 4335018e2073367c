/**
 * A standalone Kinesis emulator for local stacks (compose, the launcher):
 * kinesalite in memory, the real Kinesis API, with the stream created at
 * start. KINESIS_EMULATOR_HOST (0.0.0.0), KINESIS_EMULATOR_PORT (4567),
 * KINESIS_STREAM (market-events), KINESIS_SHARDS (2). Streams live in
 * memory: a restart starts empty, as a fresh local stack expects.
 */
import { z } from 'zod';
import { KinesisEmulator } from '../src/testing/emulator.ts';
import { configOrExit, loadConfig } from '@hotpath/config';

const EmulatorConfigSchema = z.object({
  host: z.string().default('0.0.0.0'),
  port: z.coerce.number().int().min(1).max(65535).default(4567),
  stream: z.string().min(1).default('market-events'),
  shards: z.coerce.number().int().min(1).max(64).default(2),
});
const env = { KINESIS_EMULATOR_HOST: 'host', KINESIS_EMULATOR_PORT: 'port', KINESIS_STREAM: 'stream', KINESIS_SHARDS: 'shards' };
// a wrong setting: its variable named on stderr, exit code 2
const c = configOrExit(() => loadConfig({ name: 'kinesis emulator', schema: EmulatorConfigSchema, env }, { env: process.env }));
const emu = new KinesisEmulator({ host: c.host, port: c.port });
await emu.start();
await emu.createStream(c.stream, c.shards);
console.log(JSON.stringify({ msg: 'kinesis emulator ready', endpoint: `http://${c.host}:${emu.port}`, stream: c.stream, shards: c.shards }));
const stop = async (): Promise<void> => {
  await emu.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
