/** A package ecosystem's version ordering, as OSV's `ECOSYSTEM` ranges need it. */
export interface VersionScheme {
  /** Short name, e.g. `dpkg`. */
  readonly name: string;
  /** Whether `version` parses under this scheme; matching skips ranges it cannot order. */
  isValid(version: string): boolean;
  /** Negative, zero or positive like `Array.prototype.sort`; both inputs must be valid. */
  compare(a: string, b: string): number;
}
