/**
 * Where each key of a policy document sits, for error messages and warnings only.
 *
 * js-hcl-parser decides what a document means, but its decoded tree has no positions, while Vault's
 * "invalid key" errors name the line (`invalid key "foo" on line 3`, the line of the `=`, or 0 for a
 * block written without one) and Vault warns about attributes set twice. This outline recovers
 * those facts from the text of a document the parser has already accepted: it tokenizes just enough
 * (comments, strings, heredocs, brackets) to list each object's items with their keys and the line
 * of their `=` (`:` in JSON). It never decides whether a document is valid; when it cannot follow a
 * document it gives up and the messages fall back to line 0.
 */

export interface OutlineItem {
  /** The item's keys: `path "a" {` has ["path", "a"]. */
  readonly keys: readonly string[];
  /** Line of the `=` or `:`; 0 for a block (Vault's `item.Assign.Line`). */
  readonly assignLine: number;
  /** What the value is: a block or object, a list, or a single value. */
  readonly kind: 'object' | 'list' | 'scalar';
  /** Items of an object value, or of the objects directly inside a list value. */
  readonly children: readonly OutlineItem[];
}

interface Token {
  readonly kind: 'key' | 'punct' | 'other';
  readonly text: string;
  readonly line: number;
}

const PUNCTUATION = new Set(['{', '}', '[', ']', '=', ':', ',']);
const WORD_END = /[\s{}[\]=:,"#]/;

class OutlineUnfollowable extends Error {}

/** Splits the text into keys (identifiers and strings), punctuation and other values. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const newlinesIn = (from: number, to: number): number => {
    let count = 0;
    for (let k = from; k < to; k++) if (text[k] === '\n') count++;
    return count;
  };
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (ch === '\n') {
      line++;
      i++;
    } else if (/\s/.test(ch)) {
      i++;
    } else if (ch === '#' || text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new OutlineUnfollowable();
      line += newlinesIn(i, end);
      i = end + 2;
    } else if (ch === '"') {
      const start = i;
      let braces = 0; // inside ${ ... } a quote does not end the string
      i++;
      for (;;) {
        const c = text[i];
        if (c === undefined) throw new OutlineUnfollowable();
        if (c === '\\') {
          i += 2;
          continue;
        }
        if (c === '"' && braces === 0) break;
        if (c === '$' && text[i + 1] === '{' && braces === 0) {
          braces = 1;
          i += 2;
          continue;
        }
        if (braces > 0 && c === '{') braces++;
        if (braces > 0 && c === '}') braces--;
        i++;
      }
      i++;
      tokens.push({ kind: 'key', text: unquote(text.slice(start, i)), line });
      line += newlinesIn(start, i);
    } else if (text.startsWith('<<', i)) {
      const header = /^<<-?([A-Za-z_][\w-]*)\r?\n/.exec(text.slice(i));
      if (!header) throw new OutlineUnfollowable();
      const marker = header[1] ?? '';
      let lineStart = i + header[0].length;
      const tokenLine = line;
      line++;
      for (;;) {
        if (lineStart >= text.length) throw new OutlineUnfollowable();
        const lineEnd = text.indexOf('\n', lineStart);
        const content = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
        lineStart = lineEnd < 0 ? text.length : lineEnd + 1;
        if (content.trim() === marker) break;
        line++;
      }
      i = lineStart;
      if (text[i - 1] === '\n') line++;
      tokens.push({ kind: 'other', text: marker, line: tokenLine });
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: 'punct', text: ch, line });
      i++;
    } else {
      const start = i;
      while (i < text.length && !WORD_END.test(text[i] ?? '')) i++;
      if (i === start) throw new OutlineUnfollowable();
      tokens.push({ kind: 'key', text: text.slice(start, i), line });
    }
  }
  return tokens;
}

/** A quoted key's text; JSON's escapes cover what policy keys use, otherwise the raw inner text. */
function unquote(quoted: string): string {
  try {
    const value: unknown = JSON.parse(quoted);
    if (typeof value === 'string') return value;
  } catch {
    // fall through
  }
  return quoted.slice(1, -1);
}

class OutlineReader {
  private next = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  document(): OutlineItem[] {
    // JSON (or an HCL document written as one object) starts with '{'.
    if (this.peekPunct('{')) {
      this.next++;
      const items = this.items();
      this.expectPunct('}');
      return items;
    }
    return this.items();
  }

  private peek(): Token | undefined {
    return this.tokens[this.next];
  }

  private peekPunct(text: string): boolean {
    const token = this.peek();
    return token?.kind === 'punct' && token.text === text;
  }

  private expectPunct(text: string): Token {
    const token = this.peek();
    if (token?.kind !== 'punct' || token.text !== text) throw new OutlineUnfollowable();
    this.next++;
    return token;
  }

  /** Items up to the closing '}' (left for the caller) or the end of the document. */
  private items(): OutlineItem[] {
    const items: OutlineItem[] = [];
    for (;;) {
      const token = this.peek();
      if (token === undefined || (token.kind === 'punct' && token.text === '}')) return items;
      if (token.kind === 'punct' && token.text === ',') {
        this.next++;
        continue;
      }
      const keys: string[] = [];
      while (this.peek()?.kind === 'key') keys.push(this.tokens[this.next++]?.text ?? '');
      if (keys.length === 0) throw new OutlineUnfollowable();
      if (this.peekPunct('=') || this.peekPunct(':')) {
        const assign = this.expectPunct(this.peek()?.text ?? '');
        items.push({ keys, assignLine: assign.line, ...this.value() });
      } else {
        this.expectPunct('{');
        const children = this.items();
        this.expectPunct('}');
        items.push({ keys, assignLine: 0, kind: 'object', children });
      }
    }
  }

  private value(): Pick<OutlineItem, 'kind' | 'children'> {
    const token = this.peek();
    if (token === undefined) throw new OutlineUnfollowable();
    this.next++;
    if (token.kind === 'punct' && token.text === '{') {
      const children = this.items();
      this.expectPunct('}');
      return { kind: 'object', children };
    }
    if (token.kind === 'punct' && token.text === '[') return { kind: 'list', children: this.listItems() };
    if (token.kind === 'punct') throw new OutlineUnfollowable();
    return { kind: 'scalar', children: [] };
  }

  /** Skips a list up to its ']', keeping the items of objects directly inside it. */
  private listItems(): OutlineItem[] {
    const children: OutlineItem[] = [];
    for (;;) {
      const token = this.peek();
      if (token === undefined) throw new OutlineUnfollowable();
      this.next++;
      if (token.kind !== 'punct' || token.text === ',') continue;
      if (token.text === ']') return children;
      if (token.text === '{') {
        children.push(...this.items());
        this.expectPunct('}');
      } else if (token.text === '[') {
        this.listItems();
      } else {
        throw new OutlineUnfollowable();
      }
    }
  }
}

/** The document's top-level items, or undefined when the text cannot be followed. */
export function outlineDocument(text: string): OutlineItem[] | undefined {
  try {
    return new OutlineReader(tokenize(text)).document();
  } catch (err) {
    if (err instanceof OutlineUnfollowable) return undefined;
    throw err;
  }
}

/** One path block as Vault's `list.Filter("path")` yields it: its label and its items. */
export interface OutlinePathBlock {
  readonly label: string;
  readonly items: readonly OutlineItem[];
}

/**
 * The path blocks in document order: `path "a" { ... }` in HCL, and the members of the `path`
 * object (or of the objects in a `path` list) in JSON.
 */
export function outlinePathBlocks(items: readonly OutlineItem[]): OutlinePathBlock[] {
  const blocks: OutlinePathBlock[] = [];
  for (const item of items) {
    if (item.keys[0] !== 'path') continue;
    const label = item.keys[1];
    if (label !== undefined) blocks.push({ label, items: item.children });
    else for (const child of item.children) blocks.push({ label: child.keys[0] ?? '', items: child.children });
  }
  return blocks;
}

/** Whether an attribute (a single value or a list, not a block) is set twice among these items. */
export function hasDuplicateAttributes(items: readonly OutlineItem[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    if (item.kind === 'object' || item.keys.length !== 1) continue;
    const key = item.keys[0] ?? '';
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}
