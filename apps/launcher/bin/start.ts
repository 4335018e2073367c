/**
 * pnpm start — the whole stack on this machine (launch.ts). This entry only turns on Node's compile cache
 * before anything else loads: the launcher's modules (kinesalite, the AWS SDK, ioredis) are then read from
 * disk on every start after the first, as its children's are (src/child.ts).
 */
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { compileCacheDir } from '../src/child.ts';

enableCompileCache(compileCacheDir(fileURLToPath(new URL('../../..', import.meta.url))));
await import('./launch.ts');
