/**
 * Alpine version ordering, ported from current apk-tools' src/version.c (the token-state
 * rewrite shipped with apk-tools 2.14 and 3.x):
 * `digit{.digit}…{letter}{_suffix{#}}…{~hash}{-r#}`. Pre-release suffixes (`_alpha`, `_beta`,
 * `_pre`, `_rc`) sort before the bare version, post-release ones (`_cvs`, `_svn`, `_git`,
 * `_hg`, `_p`) after it. A dotted component with a leading zero (`1.05`) is compared as a
 * string, as Gentoo's rules (which apk follows) say.
 */
import type { VersionScheme } from './types';

// Token kinds in apk-tools' enum order; the order decides the tail of a comparison.
enum Tok {
  InitialDigit,
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  CommitHash,
  RevisionNo,
  End,
  Invalid,
}

// Suffix ranks in apk-tools' order; NONE (5) is the bare version they are compared against.
const SUFFIX_RANK: Record<string, number> = { alpha: 1, beta: 2, pre: 3, rc: 4, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };
const SUFFIX_NONE = 5;

interface Token {
  kind: Tok;
  value: string;
  /** Numeric value of digit tokens; bigint because apk parses them as uint64. */
  num: bigint;
  suffix: number;
}

/** A cursor over one version string. */
class Lexer {
  pos = 0;
  constructor(private readonly s: string) {}

  private digits(): string {
    const m = /^[0-9]*/.exec(this.s.slice(this.pos))![0];
    this.pos += m.length;
    return m;
  }

  private digitToken(kind: Tok): Token {
    const value = this.digits();
    return { kind: value === '' ? Tok.Invalid : kind, value, num: value === '' ? 0n : BigInt(value), suffix: 0 };
  }

  first(): Token {
    return this.digitToken(Tok.InitialDigit);
  }

  /** apk-tools' `token_next`: the kind follows from the first character and the previous kind. */
  next(prev: Token): Token {
    const invalid: Token = { kind: Tok.Invalid, value: '', num: 0n, suffix: 0 };
    const ch = this.s[this.pos];
    if (ch === undefined) return { ...invalid, kind: Tok.End };
    if (ch >= 'a' && ch <= 'z') {
      if (prev.kind > Tok.Digit) return invalid;
      this.pos += 1;
      return { kind: Tok.Letter, value: ch, num: 0n, suffix: 0 };
    }
    if (ch === '.' || (ch >= '0' && ch <= '9')) {
      if (ch === '.') {
        if (prev.kind > Tok.Digit) return invalid;
        this.pos += 1;
      }
      if (prev.kind === Tok.InitialDigit || prev.kind === Tok.Digit) return this.digitToken(Tok.Digit);
      if (prev.kind === Tok.Suffix) return this.digitToken(Tok.SuffixNo);
      return invalid;
    }
    if (ch === '_') {
      if (prev.kind > Tok.SuffixNo) return invalid;
      this.pos += 1;
      const value = /^[a-z]*/.exec(this.s.slice(this.pos))![0];
      this.pos += value.length;
      const suffix = SUFFIX_RANK[value];
      return suffix === undefined ? invalid : { kind: Tok.Suffix, value, num: 0n, suffix };
    }
    if (ch === '~') {
      if (prev.kind >= Tok.CommitHash) return invalid;
      this.pos += 1;
      const value = /^[0-9a-fA-F]*/.exec(this.s.slice(this.pos))![0];
      this.pos += value.length;
      return value === '' ? invalid : { kind: Tok.CommitHash, value, num: 0n, suffix: 0 };
    }
    if (ch === '-') {
      if (prev.kind >= Tok.RevisionNo || this.s[this.pos + 1] !== 'r') return invalid;
      this.pos += 2;
      return this.digitToken(Tok.RevisionNo);
    }
    return invalid;
  }
}

const sign = (a: bigint | number | string, b: bigint | number | string): number => (a < b ? -1 : a > b ? 1 : 0);

/** apk-tools' `token_cmp` for two tokens of the same kind. */
function tokenCompare(a: Token, b: Token): number {
  switch (a.kind) {
    case Tok.Digit:
      // A leading zero means "compare as a string" (1.05 < 1.5, as Gentoo orders them).
      if (a.value[0] === '0' || b.value[0] === '0') return sign(a.value, b.value);
      return sign(a.num, b.num);
    case Tok.InitialDigit:
    case Tok.SuffixNo:
    case Tok.RevisionNo:
      return sign(a.num, b.num);
    case Tok.Letter:
      return sign(a.value, b.value);
    case Tok.Suffix:
      return sign(a.suffix, b.suffix);
    default:
      return sign(a.value, b.value);
  }
}

export function isValidApk(version: string): boolean {
  const lx = new Lexer(version);
  let t = lx.first();
  while (t.kind < Tok.End) t = lx.next(t);
  return t.kind === Tok.End;
}

export function compareApk(a: string, b: string): number {
  const la = new Lexer(a);
  const lb = new Lexer(b);
  let ta = la.first();
  let tb = lb.first();
  while (ta.kind === tb.kind && ta.kind < Tok.End) {
    const r = tokenCompare(ta, tb);
    if (r !== 0) return r;
    ta = la.next(ta);
    tb = lb.next(tb);
  }
  if (ta.kind === tb.kind) return 0;
  // Equal so far: the longer version is greater, unless what follows is a pre-release suffix.
  if (ta.kind === Tok.Suffix && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.kind === Tok.Suffix && tb.suffix < SUFFIX_NONE) return 1;
  return ta.kind > tb.kind ? -1 : 1;
}

export const apkScheme: VersionScheme = { name: 'apk', isValid: isValidApk, compare: compareApk };
