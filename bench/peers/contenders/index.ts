/** bench:peers contenders: the shared types (shared.ts), one module per contender, the book-alone comparison. */
import type { PeersData } from '../data.ts';
import { ccxtContender } from './ccxt.ts';
import { jsonParseFloor } from './floor.ts';
import { oursJson, oursSbe } from './ours.ts';
import type { Contender, ContenderInput, ContenderName } from './shared.ts';
import { tardis } from './tardis.ts';

export { type BookAlone, bookAloneContenders, bookAloneDiffCount } from './book-alone.ts';
export { ccxtClient, ccxtContender } from './ccxt.ts';
export { jsonParseFloor } from './floor.ts';
export { oursJson, oursSbe } from './ours.ts';
export { CONTENDERS, type Contender, type ContenderInput, type ContenderName, sink, TOP_LENGTH, TOP_LEVELS } from './shared.ts';
export { tardis } from './tardis.ts';

export const FACTORIES: Record<ContenderName, (data: PeersData, input: ContenderInput) => Contender> = {
  oursSbe,
  oursJson,
  tardis,
  ccxt: ccxtContender,
  jsonParse: jsonParseFloor,
};
