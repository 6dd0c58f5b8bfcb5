"""Disjoint sets (union-find with path halving): grouping characters into words, lines into blocks."""
from __future__ import annotations


class DisjointSets:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        """Join a's set into b's (the root of b's set stays the root)."""
        self.parent[self.find(a)] = self.find(b)
