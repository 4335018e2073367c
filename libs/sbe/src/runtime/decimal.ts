/**
 * Binance decimals are mantissa × 10^exponent. Conversions here never pass
 * through a binary float on the exact paths (strings, mantissas), and the
 * number path rounds exactly once.
 */

export { decimalToNumber } from './bytes.ts';

/** The exact decimal string, keeping the exponent's scale ("61737.63000000" for -8), like Binance's JSON. */
export function decimalToString(mantissa: number | bigint, exponent: number): string {
  let digits: string;
  let negative: boolean;
  if (typeof mantissa === 'bigint') {
    negative = mantissa < 0n;
    digits = (negative ? -mantissa : mantissa).toString();
  } else {
    negative = mantissa < 0;
    digits = String(negative ? -mantissa : mantissa);
  }
  let text: string;
  if (exponent >= 0) {
    text = digits === '0' ? '0' : digits + '0'.repeat(exponent);
  } else {
    const scale = -exponent;
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    const point = digits.length - scale;
    text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return negative ? `-${text}` : text;
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a decimal string ("61737.63000000", "1e-3") into the integer
 * mantissa for `exponent`, exactly. Throws RangeError when the value has
 * more precision than the exponent allows or does not fit a safe integer.
 */
export function decimalStringToMantissa(text: string, exponent: number): number {
  const fast = plainDecimalToMantissa(text, exponent);
  if (fast !== undefined) return fast;
  const m = decimalStringToMantissaBigInt(text, exponent);
  if (m > BigInt(Number.MAX_SAFE_INTEGER) || m < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`decimal ${text} at exponent ${exponent} does not fit a safe integer mantissa`);
  }
  return Number(m);
}

export function decimalStringToMantissaBigInt(text: string, exponent: number): bigint {
  const match = DECIMAL_RE.exec(text);
  if (match === null || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  }
  const sign = match[1] === '-' ? -1n : 1n;
  const intPart = match[2] ?? '';
  const fracPart = match[3] ?? '';
  const exp10 = match[4] === undefined ? 0 : Number(match[4]);
  // value = digits × 10^(exp10 - fracLen); mantissa = value × 10^(-exponent)
  const digits = BigInt((intPart + fracPart).replace(/^0+(?=\d)/, '') || '0');
  const shift = exp10 - fracPart.length - exponent;
  if (shift >= 0) return sign * digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  if (digits % divisor !== 0n) {
    throw new RangeError(`decimal ${text} has more precision than exponent ${exponent} allows`);
  }
  return sign * (digits / divisor);
}

/**
 * Fast path for the plain "123.4500" form Binance uses: digit arithmetic in
 * doubles while every intermediate stays an exact integer below 2^53.
 * Returns undefined for anything else (signs, exponents, excess precision,
 * large values) so the exact BigInt path decides.
 */
function plainDecimalToMantissa(text: string, exponent: number): number | undefined {
  let acc = 0;
  let fracDigits = -1;
  let droppedNonZero = false;
  let digits = 0;
  const scale = -exponent;
  const n = text.length;
  if (n === 0 || scale < 0 || scale > 22) return undefined;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (fracDigits >= 0) return undefined;
      fracDigits = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return undefined;
    digits++;
    if (fracDigits >= 0) {
      if (fracDigits >= scale) {
        if (d !== 0) droppedNonZero = true;
        continue;
      }
      fracDigits++;
    }
    acc = acc * 10 + d;
    if (acc > Number.MAX_SAFE_INTEGER) return undefined;
  }
  if (droppedNonZero || digits === 0) return undefined;
  const pad = scale - Math.max(fracDigits, 0);
  const m = acc * 10 ** pad;
  return Number.isSafeInteger(m) ? m : undefined;
}
