/**
 * Longest-prefix lookup over the prefix rules' keys, as a radix tree (Vault uses one for the same
 * reason): one walk along the path, one step per branching point of the keys, whatever the number
 * of rules. Edges carry whole runs of characters, so keys sharing "kv/metadata/team-" cost one step
 * for that part.
 */
interface RadixNode<T> {
  /** Outgoing edges by the first character of their label. */
  readonly edges: Map<number, RadixEdge<T>>;
  value: T | undefined;
}

interface RadixEdge<T> {
  label: string;
  node: RadixNode<T>;
}

const radixNode = <T>(): RadixNode<T> => ({ edges: new Map(), value: undefined });

export class PrefixTrie<T> {
  private readonly root: RadixNode<T> = radixNode();

  set(key: string, value: T): void {
    let at = this.root;
    let i = 0;
    while (i < key.length) {
      const edge = at.edges.get(key.charCodeAt(i));
      if (edge === undefined) {
        const leaf = radixNode<T>();
        leaf.value = value;
        at.edges.set(key.charCodeAt(i), { label: key.slice(i), node: leaf });
        return;
      }
      let common = 0;
      const max = Math.min(edge.label.length, key.length - i);
      while (common < max && edge.label.charCodeAt(common) === key.charCodeAt(i + common)) common++;
      if (common < edge.label.length) {
        // The key leaves (or ends inside) this edge: split it where they part.
        const middle = radixNode<T>();
        middle.edges.set(edge.label.charCodeAt(common), { label: edge.label.slice(common), node: edge.node });
        edge.label = edge.label.slice(0, common);
        edge.node = middle;
      }
      at = edge.node;
      i += common;
    }
    at.value = value;
  }

  /** The value of the longest key that `text` starts with (the empty key included). */
  longestPrefixOf(text: string): T | undefined {
    let at = this.root;
    let found = at.value;
    let i = 0;
    while (i < text.length) {
      const edge = at.edges.get(text.charCodeAt(i));
      if (edge === undefined || !text.startsWith(edge.label, i)) break;
      i += edge.label.length;
      at = edge.node;
      if (at.value !== undefined) found = at.value;
    }
    return found;
  }
}
