{ out: [std.format('%s|%10s|%-10s|%.2s', ['abc', 'abc', 'abc', 'abc']), std.format('%s', [[1, 2]]), std.format('%s', [{ a: 1 }]), std.format('%s %s', [null, true])] }
