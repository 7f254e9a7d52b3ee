{ out: [[1, 2] < [1, 3], 'a' < 'b', 'é' < 'z', [1] == [1], { a: 1 } == { a: 1 }, 1 == 1.0, std.primitiveEquals(1, 1), std.xor(true, false), std.xnor(true, false)] }
