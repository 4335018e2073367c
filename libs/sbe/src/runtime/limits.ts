/**
 * Process-wide decode limits. The schema allows 2^31-1 group entries and
 * 4 GiB var data; no market-data frame comes close, so anything past these
 * bounds is treated as corrupt rather than allocated or iterated.
 */
export interface DecodeLimits {
  /** Upper bound on numInGroup for any group (REST depth has at most 5000 levels per side). */
  maxGroupEntries: number;
  /** Upper bound on a single var-data field in bytes. */
  maxVarDataLength: number;
}

export const decodeLimits: DecodeLimits = {
  maxGroupEntries: 65_536,
  maxVarDataLength: 4 * 1024 * 1024,
};

export function setDecodeLimits(limits: Partial<DecodeLimits>): void {
  if (limits.maxGroupEntries !== undefined) {
    if (!Number.isInteger(limits.maxGroupEntries) || limits.maxGroupEntries < 0) {
      throw new RangeError('maxGroupEntries must be a non-negative integer');
    }
    decodeLimits.maxGroupEntries = limits.maxGroupEntries;
  }
  if (limits.maxVarDataLength !== undefined) {
    if (!Number.isInteger(limits.maxVarDataLength) || limits.maxVarDataLength < 0) {
      throw new RangeError('maxVarDataLength must be a non-negative integer');
    }
    decodeLimits.maxVarDataLength = limits.maxVarDataLength;
  }
}
