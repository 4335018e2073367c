/**
 * The real CLI: `cdk synth` as an operator runs it (through pnpm, from the repository root), with no AWS
 * account, credentials or network but the registry's packages. It must write both templates, build no
 * Docker image, and refuse a bad parameter by naming it. Each run has a deadline.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'hotpath-cdk-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** 2 cores shared with the rest of the suite: a synth takes ~10 s there; past this it is hung, not slow. */
const DEADLINE_MS = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cdk(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'pnpm',
      ['--filter', '@hotpath/deploy-aws', 'exec', 'cdk', ...args],
      {
        cwd: repoRoot,
        timeout: DEADLINE_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: {
          ...process.env,
          // no account here: never wait on the EC2 metadata service for credentials, never phone home
          AWS_EC2_METADATA_DISABLED: 'true',
          CDK_DISABLE_CLI_TELEMETRY: 'true',
          CDK_DISABLE_VERSION_CHECK: 'true',
        },
      },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

describe('cdk synth (the CLI)', () => {
  it('synthesizes both stacks without an account, and no Docker image', { timeout: DEADLINE_MS + 5_000 }, async () => {
    const run = await cdk('synth', '--quiet', '--no-notices', '-c', 'imageTag=ci', '-o', out);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'Hotpath.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::ECS::Service')).toHaveLength(3);
    const base = JSON.parse(readFileSync(join(out, 'HotpathBase.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(
      Object.values(base.Resources)
        .map((r) => r.Type)
        .filter((t) => t !== 'AWS::CDK::Metadata')
        .sort(),
    ).toEqual(['AWS::ECR::Repository', 'AWS::SecretsManager::Secret']);
    // the image is pushed by the operator (README), never built by synth
    for (const stack of ['Hotpath', 'HotpathBase']) {
      const assets = JSON.parse(readFileSync(join(out, `${stack}.assets.json`), 'utf8')) as { dockerImages?: Record<string, unknown> };
      expect(Object.keys(assets.dockerImages ?? {})).toEqual([]);
    }
  });

  it('refuses a bad parameter by its context key, with no stack trace', { timeout: DEADLINE_MS + 5_000 }, async () => {
    const run = await cdk('synth', '--quiet', '--no-notices', '-c', 'imageTag=ci', '-c', 'kinesisShards=0', '-o', join(out, 'refused'));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/^ {2}kinesisShards: Number must be greater than or equal to 1$/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
