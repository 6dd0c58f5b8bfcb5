from models.unionfind import DisjointSets


def test_union_joins_sets_and_keeps_others_apart():
    s = DisjointSets(5)
    s.union(0, 1)
    s.union(3, 1)
    assert s.find(0) == s.find(1) == s.find(3) == 1      # b's root stays the root
    assert len({s.find(i) for i in range(5)}) == 3       # {0,1,3}, {2}, {4}
