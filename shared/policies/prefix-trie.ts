/**
 * Longest-prefix lookup over the prefix rules' keys (Vault keeps them in a radix tree for the same
 * reason): one walk along the path, one map step per character, whatever the number of rules.
 */
interface TrieNode<T> {
  readonly next: Map<number, TrieNode<T>>;
  value: T | undefined;
}

const node = <T>(): TrieNode<T> => ({ next: new Map(), value: undefined });

export class PrefixTrie<T> {
  private readonly root: TrieNode<T> = node();

  set(key: string, value: T): void {
    let at = this.root;
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      let child = at.next.get(code);
      if (child === undefined) {
        child = node();
        at.next.set(code, child);
      }
      at = child;
    }
    at.value = value;
  }

  /** The value of the longest key that `text` starts with (the empty key included). */
  longestPrefixOf(text: string): T | undefined {
    let at: TrieNode<T> | undefined = this.root;
    let found = at.value;
    for (let i = 0; i < text.length; i++) {
      at = at.next.get(text.charCodeAt(i));
      if (at === undefined) break;
      if (at.value !== undefined) found = at.value;
    }
    return found;
  }
}
