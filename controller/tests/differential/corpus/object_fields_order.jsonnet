{ out: [std.objectFields({ b: 1, a: 2, c: 3, B: 4, '1': 5, _: 6 }), std.objectFieldsAll({ z: 1, y:: 2 }), std.objectValues({ b: 1, a: 2 }), std.objectKeysValues({ b: 1, a: 2 })] }
