local people = [{ n: 'b', a: 2 }, { n: 'a', a: 2 }, { n: 'c', a: 1 }];
{ out: [std.sort(people, keyF=function(p) p.a), std.sort([3.5, -1, 2, 1e10, -0.5]), std.uniq(std.sort(['b', 'a', 'b', 'c', 'a'])), std.set(people, keyF=function(p) p.a), std.setMember({ a: 2 }, std.set(people, keyF=function(p) p.a), keyF=function(p) p.a)] }
