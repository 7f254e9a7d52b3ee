// std.setInter/Union/Diff/Member as std.jsonnet defines them: strings stand for their characters, a string rest is
// appended with `+`, setMember is a setInter (so on an unsorted array it is not binary search), keyF on both sides.
{
  inter: [std.setInter('b', ['a', 'b', 'c']), std.setInter(['b'], 'ab'), std.setInter('b', 'abc', keyF=function(x) x)],
  union: [std.setUnion('ab', ['c']), std.setUnion('ba', 'ca'), std.setUnion([], 'xy'), std.setUnion(['a'], [])],
  diff: [std.setDiff('abc', ['b']), std.setDiff(['a', 'b'], 'b'), std.setDiff('ab', 'ab')],
  member: [std.setMember(3, [5, 3, 1]), std.setMember(5, [5, 3, 1]), std.setMember('a', 'cab'), std.setMember('b', 'abc'),
           std.setMember(2, [1, 2, 3]), std.setMember({ k: 2 }, [{ k: 1 }, { k: 2 }], keyF=function(o) o.k)],
  keyed: std.setUnion([{ k: 1, v: 'a' }, { k: 3, v: 'a' }], [{ k: 1, v: 'b' }, { k: 2, v: 'b' }], function(o) o.k),
  sorted: std.setInter(std.set([3, 1, 2]), [2, 3, 4]),
}
