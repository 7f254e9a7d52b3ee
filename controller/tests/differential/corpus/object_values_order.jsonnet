{ out: [std.objectValues({ c: 3, a: 1, b: 2 }), std.objectValuesAll({ b:: 2, a: 1 }), std.objectKeysValuesAll({ b:: 2, a: 1 }), std.mapWithKey(function(k, v) k, { z: 1, y: 2 })] }
