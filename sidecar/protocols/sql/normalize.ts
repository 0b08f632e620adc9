/**
 * SQL statement analysis shared by the PostgreSQL and MySQL parsers: one tokenizer pass
 * that (1) rewrites literals to `?` so a statement groups by shape and no value a user
 * typed leaves the sidecar, and (2) finds the operation verb and, where the statement
 * makes it plain, the one table it touches. Metric labels use the normalized text, so
 * the output must be stable: whitespace collapsed, comments dropped, value lists folded.
 */

export type SqlDialect = 'postgresql' | 'mysql';

export interface SqlInfo {
  /** Literals replaced by `?`, comments removed, whitespace collapsed. */
  normalized: string;
  /** Upper-case verb (`SELECT`, `INSERT`, `CREATE TABLE`...), when there is one. */
  operation?: string;
  /** The single table the statement reads or writes, only when that is unambiguous. */
  table?: string;
}

export interface NormalizeOptions {
  dialect: SqlDialect;
  /** Longest normalized text kept (labels must stay small); longer text ends with `…`. */
  maxLength?: number;
}

const DEFAULT_MAX_LENGTH = 2048;

// Token kinds: words (keywords and bare identifiers), quoted identifiers, punctuation.
const T_WORD = 0;
const T_IDENT = 1;
const T_PUNCT = 2;
const T_LITERAL = 3;

interface Token {
  kind: number;
  /** Upper-cased for words, raw text for identifiers and punctuation. */
  text: string;
  depth: number;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isWordStart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
const isWordChar = (c: number): boolean => isWordStart(c) || isDigit(c) || c === 36;
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13 || c === 12;

const CH_QUOTE = 39; // '
const CH_DQUOTE = 34; // "
const CH_BACKTICK = 96; // `
const CH_DOLLAR = 36; // $
const CH_MINUS = 45;
const CH_SLASH = 47;
const CH_STAR = 42;
const CH_HASH = 35;
const CH_BACKSLASH = 92;
const CH_DOT = 46;
const CH_LPAREN = 40;
const CH_RPAREN = 41;

/** Index after a quoted run that started at `i` (the opening quote); doubled quotes escape. */
function skipQuoted(s: string, i: number, quote: number, backslashEscapes: boolean): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (backslashEscapes && c === CH_BACKSLASH) {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (s.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return s.length;
}

/** `$tag$ ... $tag$` (PostgreSQL); returns -1 when `i` does not open one. */
function skipDollarQuoted(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length && isWordChar(s.charCodeAt(j)) && s.charCodeAt(j) !== CH_DOLLAR) j++;
  if (s.charCodeAt(j) !== CH_DOLLAR) return -1;
  const tag = s.slice(i, j + 1);
  if (tag.length > 2 && isDigit(tag.charCodeAt(1))) return -1;
  const end = s.indexOf(tag, j + 1);
  return end < 0 ? s.length : end + tag.length;
}

function skipNumber(s: string, i: number): number {
  let j = i;
  if (s.charCodeAt(j) === 48 && (s.charCodeAt(j + 1) | 32) === 120) {
    j += 2;
    while (j < s.length && /[0-9a-fA-F]/.test(s[j]!)) j++;
    return j;
  }
  while (j < s.length && (isDigit(s.charCodeAt(j)) || s.charCodeAt(j) === CH_DOT)) j++;
  if ((s.charCodeAt(j) | 32) === 101) {
    let k = j + 1;
    if (s.charCodeAt(k) === 43 || s.charCodeAt(k) === CH_MINUS) k++;
    if (isDigit(s.charCodeAt(k))) {
      j = k;
      while (j < s.length && isDigit(s.charCodeAt(j))) j++;
    }
  }
  return j;
}

/** A `-` directly before a number is part of the literal when nothing value-like precedes it. */
function minusStartsLiteral(prev: Token | undefined): boolean {
  if (prev === undefined) return true;
  if (prev.kind === T_PUNCT) return prev.text !== ')' && prev.text !== ']';
  if (prev.kind === T_WORD) return VALUE_PRECEDING_KEYWORDS.has(prev.text);
  return false;
}

const VALUE_PRECEDING_KEYWORDS = new Set([
  'SELECT',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'VALUES',
  'SET',
  'BY',
  'THEN',
  'ELSE',
  'WHEN',
  'IN',
  'LIMIT',
  'OFFSET',
  'RETURN',
  'IS',
  'LIKE',
  'BETWEEN',
]);

/** Prefix letters that make the following quoted text one literal: E'..', N'..', X'..', B'..'. */
const LITERAL_PREFIXES = new Set(['E', 'N', 'X', 'B', '_UTF8MB4', '_BINARY', '_UTF8', '_LATIN1']);

interface Scan {
  out: string;
  tokens: Token[];
}

function scan(sql: string, dialect: SqlDialect, maxLength: number): Scan {
  const parts: string[] = [];
  const tokens: Token[] = [];
  let outLen = 0;
  let pendingSpace = false;
  let depth = 0;
  const push = (text: string): void => {
    const last = parts[parts.length - 1];
    const lc = last === undefined ? 0 : last.charCodeAt(last.length - 1);
    if ((pendingSpace || lc === 44) && outLen > 0) {
      const fc = text.charCodeAt(0);
      // No space after `(` or before `)`/`,`, one after `,`: `f( a ,b )` reads as `f(a, b)`.
      if (lc !== CH_LPAREN && fc !== CH_RPAREN && fc !== 44 && fc !== 59) {
        parts.push(' ');
        outLen++;
      }
    }
    pendingSpace = false;
    parts.push(text);
    outLen += text.length;
  };
  const literal = (): void => {
    push('?');
    tokens.push({ kind: T_LITERAL, text: '?', depth });
  };
  const backslash = dialect === 'mysql';
  let i = 0;
  const n = sql.length;
  while (i < n && outLen <= maxLength) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      pendingSpace = true;
      i++;
      continue;
    }
    // Comments: `-- ...`, `# ...` (MySQL), `/* ... */`.
    if ((c === CH_MINUS && sql.charCodeAt(i + 1) === CH_MINUS) || (c === CH_HASH && dialect === 'mysql')) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      pendingSpace = true;
      continue;
    }
    if (c === CH_SLASH && sql.charCodeAt(i + 1) === CH_STAR) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      pendingSpace = true;
      continue;
    }
    if (c === CH_QUOTE) {
      const prev = tokens[tokens.length - 1];
      // E'..' / X'..': the prefix word was already pushed; fold it into the literal.
      if (prev?.kind === T_WORD && LITERAL_PREFIXES.has(prev.text) && !pendingSpace) {
        tokens.pop();
        const last = parts.pop()!;
        outLen -= last.length;
        if (parts[parts.length - 1] === ' ') {
          parts.pop();
          outLen--;
          pendingSpace = true;
        }
        i = skipQuoted(sql, i, CH_QUOTE, backslash || prev.text === 'E');
      } else {
        i = skipQuoted(sql, i, CH_QUOTE, backslash);
      }
      literal();
      continue;
    }
    if (c === CH_DQUOTE) {
      const end = skipQuoted(sql, i, CH_DQUOTE, backslash);
      if (dialect === 'mysql') literal();
      else {
        const text = sql.slice(i, end);
        push(text);
        tokens.push({ kind: T_IDENT, text, depth });
      }
      i = end;
      continue;
    }
    if (c === CH_BACKTICK) {
      const end = skipQuoted(sql, i, CH_BACKTICK, false);
      const text = sql.slice(i, end);
      push(text);
      tokens.push({ kind: T_IDENT, text, depth });
      i = end;
      continue;
    }
    if (c === CH_DOLLAR) {
      // $1 parameters stay; $tag$...$tag$ strings become `?`.
      if (isDigit(sql.charCodeAt(i + 1))) {
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        const text = sql.slice(i, j);
        push(text);
        tokens.push({ kind: T_PUNCT, text, depth });
        i = j;
        continue;
      }
      const end = dialect === 'postgresql' ? skipDollarQuoted(sql, i) : -1;
      if (end > 0) {
        i = end;
        literal();
        continue;
      }
    }
    if (isDigit(c) || (c === CH_DOT && isDigit(sql.charCodeAt(i + 1)))) {
      const prev = tokens[tokens.length - 1];
      // `-5` after an operator: the minus belongs to the literal.
      if (prev?.kind === T_PUNCT && prev.text === '-' && !pendingSpace) {
        const before = tokens[tokens.length - 2];
        if (minusStartsLiteral(before)) {
          tokens.pop();
          const last = parts.pop()!;
          outLen -= last.length;
          if (parts[parts.length - 1] === ' ') {
            parts.pop();
            outLen--;
            pendingSpace = true;
          }
        }
      }
      i = skipNumber(sql, i);
      literal();
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordChar(sql.charCodeAt(j))) j++;
      const text = sql.slice(i, j);
      const upper = text.toUpperCase();
      // TRUE/FALSE are values too; NULL stays (IS NULL is shape, not data).
      if (upper === 'TRUE' || upper === 'FALSE') {
        literal();
      } else {
        push(text);
        tokens.push({ kind: T_WORD, text: upper, depth });
      }
      i = j;
      continue;
    }
    // Punctuation and operators, one character at a time except for `::` casts.
    let text = sql[i]!;
    if (c === 58 && sql.charCodeAt(i + 1) === 58) text = '::';
    else if (c === 63 && dialect === 'mysql') text = '?';
    if (c === CH_LPAREN) depth++;
    push(text);
    tokens.push({ kind: T_PUNCT, text, depth });
    if (c === CH_RPAREN && depth > 0) depth--;
    i += text.length;
  }
  let out = parts.join('');
  if (out.length > maxLength || i < n) out = `${out.slice(0, maxLength)}…`;
  return { out, tokens };
}

/** `IN (?, ?, ?)` → `IN (?)` and `VALUES (?, ?), (?, ?)` → `VALUES (?, ?)`: list length is not shape. */
const IN_LIST = /\bIN \(\?(?:, \?)+\)/gi;
const REPEATED_TUPLES =
  /(\((?:\?|NULL|DEFAULT)(?:, (?:\?|NULL|DEFAULT))*\))(?:, \((?:\?|NULL|DEFAULT)(?:, (?:\?|NULL|DEFAULT))*\))+/gi;

const TWO_WORD_OPERATIONS = new Set(['CREATE', 'DROP', 'ALTER', 'TRUNCATE']);
const OBJECT_WORDS = new Set([
  'TABLE',
  'INDEX',
  'VIEW',
  'SCHEMA',
  'DATABASE',
  'SEQUENCE',
  'FUNCTION',
  'PROCEDURE',
  'TRIGGER',
  'TYPE',
  'EXTENSION',
  'USER',
  'ROLE',
]);
const DML = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'REPLACE']);

function operationOf(tokens: Token[]): { op?: string; at: number } {
  let i = 0;
  // Skip leading `(` of `(SELECT ...)`.
  while (tokens[i]?.kind === T_PUNCT && tokens[i]!.text === '(') i++;
  const first = tokens[i];
  if (first?.kind !== T_WORD) return { at: -1 };
  if (first.text === 'WITH') {
    // The statement after the CTE list: the first DML verb back at the top level.
    const base = first.depth;
    for (let j = i + 1; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === T_WORD && t.depth === base && DML.has(t.text)) return { op: t.text, at: j };
    }
    return { op: 'WITH', at: -1 };
  }
  if (TWO_WORD_OPERATIONS.has(first.text)) {
    for (let j = i + 1; j < Math.min(tokens.length, i + 5); j++) {
      const t = tokens[j]!;
      if (t.kind === T_WORD && OBJECT_WORDS.has(t.text)) return { op: `${first.text} ${t.text}`, at: j };
    }
  }
  return { op: first.text, at: i };
}

/** A possibly schema-qualified name starting at `i`; undefined when none is there. */
function nameAt(tokens: Token[], i: number): { name: string; next: number } | undefined {
  const parts: string[] = [];
  let j = i;
  for (;;) {
    const t = tokens[j];
    if (t === undefined || (t.kind !== T_WORD && t.kind !== T_IDENT)) return undefined;
    parts.push(t.kind === T_IDENT ? t.text.slice(1, -1) : t.text.toLowerCase());
    j++;
    if (tokens[j]?.kind === T_PUNCT && tokens[j]!.text === '.') {
      j++;
      continue;
    }
    return { name: parts.join('.'), next: j };
  }
}

// Words that may follow a table name without making the statement about more than one table.
const SINGLE_TABLE_STOP = new Set(['JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL', 'USING']);

function tableOf(tokens: Token[], op: string, at: number): string | undefined {
  const skip = (j: number, words: string[]): number => {
    let k = j;
    for (const w of words) if (tokens[k]?.kind === T_WORD && tokens[k]!.text === w) k++;
    return k;
  };
  let j = -1;
  const base = tokens[at]?.depth ?? 0;
  switch (op) {
    case 'INSERT':
    case 'REPLACE':
      j = skip(at + 1, ['LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'IGNORE', 'INTO']);
      break;
    case 'UPDATE':
      j = skip(at + 1, ['LOW_PRIORITY', 'IGNORE', 'ONLY']);
      break;
    case 'DELETE':
      j = skip(at + 1, ['LOW_PRIORITY', 'QUICK', 'IGNORE', 'FROM', 'ONLY']);
      break;
    case 'COPY':
      j = at + 1;
      break;
    case 'TRUNCATE':
    case 'TRUNCATE TABLE':
      j = skip(at + 1, ['TABLE', 'ONLY']);
      break;
    case 'CREATE TABLE':
    case 'DROP TABLE':
    case 'ALTER TABLE':
      j = skip(at + 1, ['IF', 'NOT', 'EXISTS', 'ONLY']);
      break;
    case 'SELECT': {
      for (let k = at + 1; k < tokens.length; k++) {
        const t = tokens[k]!;
        if (t.depth === base && t.kind === T_WORD && t.text === 'FROM') {
          j = k + 1;
          break;
        }
      }
      break;
    }
    default:
      return undefined;
  }
  if (j < 0) return undefined;
  const found = nameAt(tokens, j);
  if (found === undefined) return undefined;
  if (op === 'SELECT' || op === 'DELETE' || op === 'UPDATE') {
    // Plain means one table: no join, no comma list after the name (alias allowed).
    for (let k = found.next; k < tokens.length; k++) {
      const t = tokens[k]!;
      if (t.depth !== base) continue;
      if (t.kind === T_WORD && SINGLE_TABLE_STOP.has(t.text)) return undefined;
      if (t.kind === T_PUNCT && t.text === ',' && op !== 'UPDATE') {
        // A comma before WHERE means FROM a, b.
        const where = tokens.findIndex(
          (w, idx) => idx > found.next && w.kind === T_WORD && w.text === 'WHERE',
        );
        if (where < 0 || k < where) return undefined;
      }
      if (
        t.kind === T_WORD &&
        (t.text === 'WHERE' || t.text === 'SET' || t.text === 'GROUP' || t.text === 'ORDER')
      )
        break;
    }
  }
  return found.name;
}

/**
 * Statements repeat (ORMs and drivers send the same parameterized text again and again):
 * results are cached by text. Bounded: cleared when full, only short statements kept.
 */
const CACHE_ENTRIES = 1024;
const CACHE_MAX_SQL = 2048;
const cache = new Map<string, SqlInfo>();

/** Normalizes one statement (or a `;`-separated batch) and extracts operation and table. */
export function analyzeSql(sql: string, options: NormalizeOptions): SqlInfo {
  if (sql.length > CACHE_MAX_SQL || options.maxLength !== undefined) return analyzeUncached(sql, options);
  const key = `${options.dialect === 'mysql' ? 'm' : 'p'}${sql}`;
  const hit = cache.get(key);
  if (hit !== undefined) return { ...hit };
  const info = analyzeUncached(sql, options);
  if (cache.size >= CACHE_ENTRIES) cache.clear();
  cache.set(key, info);
  return { ...info };
}

function analyzeUncached(sql: string, options: NormalizeOptions): SqlInfo {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const { out, tokens } = scan(sql, options.dialect, maxLength);
  const normalized = out.replace(IN_LIST, 'IN (?)').replace(REPEATED_TUPLES, '$1');
  const info: SqlInfo = { normalized };
  const { op, at } = operationOf(tokens);
  if (op !== undefined) {
    info.operation = op;
    if (at >= 0) {
      const table = tableOf(tokens, op, at);
      if (table !== undefined) info.table = table;
    }
  }
  return info;
}

/** Just the normalized text (literals → `?`). */
export function normalizeSql(sql: string, options: NormalizeOptions): string {
  return analyzeSql(sql, options).normalized;
}
