/**
 * The generator: committed output is exactly what the schemas generate, and
 * it handles a far larger schema (Binance's REST/WS-API spot_3_5: nested
 * groups three deep, var data inside groups, sets, optional and versioned
 * fields) with code that type-checks strictly and round-trips.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaError, generateSchema, parseSchema } from '../src/codegen/index.ts';
import { GENERATION_TARGETS } from '../src/codegen/targets.ts';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
const tmpRoot = join(repoRoot, 'libs/sbe/.tmp');

afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

describe('committed generated code', () => {
  for (const target of GENERATION_TARGETS) {
    it(`${target.outDir} is byte-identical to a fresh generation from ${target.schema}`, () => {
      const xml = readFileSync(join(repoRoot, target.schema), 'utf8');
      const files = generateSchema(parseSchema(xml), xml, target.schema);
      const committed = readdirSync(join(repoRoot, target.outDir)).sort();
      expect(committed).toEqual(files.map((f) => f.path).sort());
      for (const f of files) {
        expect(readFileSync(join(repoRoot, target.outDir, f.path), 'utf8'), f.path).toBe(f.text);
      }
    });
  }

  it('generation is deterministic', () => {
    const xml = readFileSync(join(repoRoot, GENERATION_TARGETS[0].schema), 'utf8');
    const a = generateSchema(parseSchema(xml), xml, 'x');
    const b = generateSchema(parseSchema(xml), xml, 'x');
    expect(a).toEqual(b);
  });
});

describe('schema errors are reported, not mis-generated', () => {
  const wrap = (body: string, types = ''): string =>
    `<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" xmlns:mbx="x" package="t" id="7" version="0" byteOrder="littleEndian">
      <types><composite name="messageHeader"><type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/></composite>${types}</types>${body}</sbe:messageSchema>`;

  it.each([
    ['an unknown field type', wrap('<sbe:message name="M" id="1"><field name="a" id="1" type="nope"/></sbe:message>'), /unknown type nope/],
    ['a big-endian schema', wrap('').replace('littleEndian', 'bigEndian'), /byteOrder/],
    [
      'a field after a group',
      wrap(
        '<sbe:message name="M" id="1"><group name="g" id="2" dimensionType="gs"><field name="x" id="1" type="int8"/></group><field name="a" id="1" type="int8"/></sbe:message>',
        '<composite name="gs"><type name="blockLength" primitiveType="uint16"/><type name="numInGroup" primitiveType="uint16"/></composite>',
      ),
      /after a group/,
    ],
    ['a duplicate template id', wrap('<sbe:message name="A" id="1"/><sbe:message name="B" id="1"/>'), /used twice/],
    [
      'an exponent that is not an int8 field',
      wrap('<sbe:message name="M" id="1"><field name="e" id="1" type="int16"/><field name="p" id="2" type="int64" mbx:exponent="e"/></sbe:message>'),
      /mbx:exponent/,
    ],
    ['an explicit blockLength smaller than the fields', wrap('<sbe:message name="M" id="1" blockLength="4"><field name="a" id="1" type="int64"/></sbe:message>'), /blockLength 4/],
  ])('%s', (_name, xml, message) => {
    expect(() => parseSchema(xml)).toThrow(SchemaError);
    expect(() => parseSchema(xml)).toThrow(message);
  });
});

describe('Binance spot_3_5 (REST/WS-API schema) as a generality test', () => {
  const xml = readFileSync(join(repoRoot, 'sbe-schemas/binance/spot_3_5.xml'), 'utf8');
  const schema = parseSchema(xml);
  const outDir = join(tmpRoot, 'spot_sbe');
  const files = generateSchema(schema, xml, 'sbe-schemas/binance/spot_3_5.xml', { runtimeImport: '../../src/runtime/index.ts' });
  mkdirSync(outDir, { recursive: true });
  for (const f of files) writeFileSync(join(outDir, f.path), f.text);

  it('parses every message with the documented layouts', () => {
    expect(schema.id).toBe(3);
    expect(schema.version).toBe(5);
    expect(schema.messages.length).toBeGreaterThan(50);
    const depth = schema.messages.find((m) => m.name === 'DepthResponse')!;
    expect(depth.id).toBe(200);
    expect(depth.blockLength).toBe(10);
    expect(depth.groups.map((g) => [g.name, g.dimension.size, g.blockLength])).toEqual([
      ['bids', 6, 16],
      ['asks', 6, 16],
    ]);
  });

  it('the generated code type-checks under the project strict settings', () => {
    const base = ts.readConfigFile(join(repoRoot, 'tsconfig.base.json'), (p) => ts.sys.readFile(p)).config as { compilerOptions: object };
    const { options } = ts.convertCompilerOptionsFromJson(base.compilerOptions, repoRoot);
    const program = ts.createProgram(
      files.map((f) => join(outDir, f.path)),
      { ...options, noEmit: true, types: [], lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'] },
    );
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });

  it('round-trips ExchangeInfoResponse: groups nested three deep with var data at every level', async () => {
    const m = (await import(join(outDir, 'index.ts'))) as Record<string, any>;
    const buf = Buffer.alloc(4096);
    const enc = new m['ExchangeInfoResponseEncoder']().wrapAndApplyHeader(buf);
    const rl = enc.rateLimitsCount(1);
    rl.next().rateLimitType(m['RateLimitType'].RequestWeight).interval(m['RateLimitInterval'].Minute).intervalNum(1).rateLimit(6000);
    const ef = enc.exchangeFiltersCount(1);
    ef.next().filter(Uint8Array.from([1, 2, 3]));
    const symbols = enc.symbolsCount(2);
    for (const [name, perms] of [
      ['BTCUSDT', [['SPOT', 'MARGIN'], ['TRD_GRP_004']]],
      ['ETHBTC', []],
    ] as const) {
      const s = symbols.next();
      s.statusField(m['SymbolStatus'].Trading).baseAssetPrecision(8).quoteAssetPrecision(8).pegInstructionsAllowed(1);
      s.defaultSelfTradePreventionMode(m['SelfTradePreventionMode'].ExpireMaker);
      s.filtersCount(1)
        .next()
        .filter(Uint8Array.from([9, 9]));
      const sets = s.permissionSetsCount(perms.length);
      for (const set of perms) {
        sets.next();
        const p = sets.permissionsCount(set.length);
        for (const perm of set) p.next().permission(perm);
      }
      s.symbol(name).baseAsset(name.slice(0, 3)).quoteAsset(name.slice(3));
    }
    const sors = enc.sorsCount(1);
    sors.next();
    const ss = sors.sorSymbolsCount(2);
    ss.next().symbol('BTCUSDT');
    ss.next().symbol('BTCUSDC');
    sors.baseAsset('BTC');

    const dec = new m['SpotSbeDecoder']();
    dec.wrap(buf, 0, enc.encodedLength);
    expect(dec.error()?.message).toBeUndefined();
    expect(dec.exchangeInfoResponse.encodedLength).toBe(enc.encodedLength);
    expect(dec.exchangeInfoResponse.toObject()).toMatchObject({
      rateLimits: [{ rateLimitType: m['RateLimitType'].RequestWeight, intervalNum: 1, rateLimit: 6000 }],
      exchangeFilters: [{ filter: Uint8Array.from([1, 2, 3]) }],
      symbols: [
        {
          baseAssetPrecision: 8,
          pegInstructionsAllowed: 1,
          filters: [{ filter: Uint8Array.from([9, 9]) }],
          permissionSets: [{ permissions: [{ permission: 'SPOT' }, { permission: 'MARGIN' }] }, { permissions: [{ permission: 'TRD_GRP_004' }] }],
          symbol: 'BTCUSDT',
          baseAsset: 'BTC',
          quoteAsset: 'USDT',
        },
        { permissionSets: [], symbol: 'ETHBTC', baseAsset: 'ETH', quoteAsset: 'BTC' },
      ],
      sors: [{ sorSymbols: [{ symbol: 'BTCUSDT' }, { symbol: 'BTCUSDC' }], baseAsset: 'BTC' }],
    });

    // Version 0 frames predate pegInstructionsAllowed: the optional field reads as null.
    buf.writeUInt16LE(0, 6);
    expect(dec.wrap(buf, 0, enc.encodedLength)).toBe(0);
    const sym = dec.exchangeInfoResponse.symbols();
    sym.next();
    expect(sym.pegInstructionsAllowed).toBeNull();

    // A truncated nested var string is caught by the validator.
    buf.writeUInt16LE(5, 6);
    expect(dec.wrap(buf, 0, enc.encodedLength - 1)).not.toBe(0);
  });

  it('round-trips DepthResponse with u32 group counts', async () => {
    const m = (await import(join(outDir, 'index.ts'))) as Record<string, any>;
    const buf = Buffer.alloc(200_000);
    const enc = new m['DepthResponseEncoder']().wrapAndApplyHeader(buf).lastUpdateId(50093239218).priceExponent(-8).qtyExponent(-8);
    const bids = enc.bidsCount(5000);
    for (let i = 0; i < 5000; i++)
      bids
        .next()
        .priceMantissa(6183763000000 - i * 1000000)
        .qtyMantissa(i + 1);
    enc.asksCount(0);
    const dec = new m['DepthResponseDecoder']();
    expect(dec.wrap(buf, 0, enc.encodedLength)).toBe(0);
    const g = dec.bids();
    expect(g.count).toBe(5000);
    expect(g.at(4999).priceDecimal()).toBe('61787.64000000');
  });
});
