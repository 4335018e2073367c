import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, envSettings, variablesOf } from '@hotpath/config';

describe('@hotpath/config', () => {
  const MAP = { APP_PORT: 'port', APP_NAME: 'name' } as const;
  it('reads only the mapped variables, an empty one as unset', () => {
    expect(envSettings(MAP, { APP_PORT: '80', APP_NAME: '', OTHER: 'x' })).toEqual({ port: '80' });
  });
  it('names each refused setting on its own line, by env variable when asked', () => {
    const r = z.object({ port: z.coerce.number().int().max(65535), name: z.string().min(1) }).safeParse({ port: '99999' });
    expect(r.success).toBe(false);
    const text = describeIssues(r.error!, variablesOf(MAP));
    expect(text.split('\n  ')).toHaveLength(2);
    expect(text).toMatch(/^APP_PORT: .*65535/);
    expect(text).toMatch(/APP_NAME: Required$/);
    expect(describeIssues(r.error!, {}, '--')).toMatch(/^--port: /);
  });
});
