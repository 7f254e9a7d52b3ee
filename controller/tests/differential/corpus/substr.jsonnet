{ out: [std.substr('hello', 1, 3), std.substr('héllo😀', 1, 5), std.substr('abc', 2, 10), std.substr('abc', 5, 1)] }
