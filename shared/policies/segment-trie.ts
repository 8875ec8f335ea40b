/**
 * The `+` rules of an ACL, arranged by segment so that a path only meets the rules that can match
 * it: a path walks the literal branch of its segment and the `+` branch at each level, instead of
 * being compared with every `+` rule (Vault compares with every one; the result is the same).
 */
import { better, type Candidate, type SegmentRule } from './candidates';

interface SegmentNode {
  readonly literal: Map<string, SegmentNode>;
  plus: SegmentNode | undefined;
  /** Rules without a trailing `*` whose last segment leads here: they match paths ending here. */
  readonly complete: SegmentRule[];
  /** Rules with a trailing `*` whose segments before the last lead here; the last is a prefix of the next path segment. */
  readonly prefixed: SegmentRule[];
}

const segmentNode = (): SegmentNode => ({ literal: new Map(), plus: undefined, complete: [], prefixed: [] });

export class SegmentTrie {
  private readonly root = segmentNode();
  private size = 0;

  get isEmpty(): boolean {
    return this.size === 0;
  }

  add(rule: SegmentRule): void {
    const fixed = rule.isPrefix ? rule.parts.length - 1 : rule.parts.length;
    let at = this.root;
    for (let i = 0; i < fixed; i++) {
      const part = rule.parts[i] ?? '';
      if (part === '+') {
        at.plus ??= segmentNode();
        at = at.plus;
      } else {
        let next = at.literal.get(part);
        if (next === undefined) {
          next = segmentNode();
          at.literal.set(part, next);
        }
        at = next;
      }
    }
    (rule.isPrefix ? at.prefixed : at.complete).push(rule);
    this.size++;
  }

  /** The highest ranked rule matching the split path, or `best` when none ranks above it. */
  best(parts: readonly string[], best: Candidate | undefined): Candidate | undefined {
    return this.walk(this.root, parts, 0, best, undefined);
  }

  /** Every rule matching the split path, appended to `into`. */
  collect(parts: readonly string[], into: Candidate[]): void {
    this.walk(this.root, parts, 0, undefined, into);
  }

  private walk(node: SegmentNode, parts: readonly string[], depth: number, best: Candidate | undefined, into: Candidate[] | undefined): Candidate | undefined {
    const segment = parts[depth];
    if (segment !== undefined) {
      for (const rule of node.prefixed) {
        if (segment.startsWith(rule.parts[depth] ?? '')) {
          if (into) into.push(rule);
          else best = better(best, rule);
        }
      }
    } else {
      for (const rule of node.complete) {
        if (into) into.push(rule);
        else best = better(best, rule);
      }
      return best;
    }
    const literal = node.literal.get(segment);
    if (literal !== undefined) best = this.walk(literal, parts, depth + 1, best, into);
    if (node.plus !== undefined) best = this.walk(node.plus, parts, depth + 1, best, into);
    return best;
  }
}
