{ out: std.manifestTomlEx({ products: [{ name: 'Hammer', sku: 738594937 }, {}, { name: 'Nail', color: 'gray' }], 'key with space': 'v', 'a.b': { c: 1 }, inline: [{ x: 1 }, 2] }, '    ') }
