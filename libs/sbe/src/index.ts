/**
 * @hotpath/sbe — generated flyweight codecs for Binance's spot stream schema
 * (schema id 1) and the hotpath envelope schema (id 100), plus the runtime
 * they share. Decoders never throw on input: wrap() returns a DecodeStatus.
 */
export * as spot from './generated/spot_stream/index.ts';
export * as hotpath from './generated/hotpath/index.ts';
export {
  DecodeError,
  DecodeStatus,
  EncodeError,
  SBE_ERROR_CODES,
  type SbeErrorCode,
  decodeStatusName,
  decodeLimits,
  setDecodeLimits,
  decimalToNumber,
  decimalToString,
  decimalStringToMantissa,
  decimalStringToMantissaBigInt,
  type DecodeFailure,
  type DecodeLimits,
} from './runtime/index.ts';
export {
  BinanceJsonTranscoder,
  classifyPayload,
  type JsonBookTicker,
  type JsonDepthSnapshot,
  type JsonDepthUpdate,
  type JsonTrade,
  type StreamPayloadKind,
} from './transcode/binance-json.ts';
