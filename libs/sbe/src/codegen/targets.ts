/** The schemas this repository generates codecs for, and where the output goes (relative to the repo root). */
export const GENERATION_TARGETS = [
  { schema: 'sbe-schemas/binance/stream_1_0.xml', outDir: 'libs/sbe/src/generated/spot_stream' },
  { schema: 'sbe-schemas/hotpath/envelope_1_0.xml', outDir: 'libs/sbe/src/generated/hotpath' },
] as const;
