{ out: [std.objectFieldsEx({ a: 1, b:: 2 }, true), std.objectFieldsEx({ a: 1, b:: 2 }, false), std.objectHasEx({ b:: 2 }, 'b', true)] }
