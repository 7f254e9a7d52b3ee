{ out: [std.splitLimit('a,b,c,d', ',', 2), std.splitLimit('a,b,c', ',', -1), std.splitLimitR('a,b,c,d', ',', 2), std.split('a::b::c', '::'), std.split('', ','), std.split('abc', 'x')] }
