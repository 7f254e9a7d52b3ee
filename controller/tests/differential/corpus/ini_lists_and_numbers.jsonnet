{ out: std.manifestIni({ main: { list: ['a', 'b'], n: 0.5, big: 1e21 }, sections: { s: { f: 1.5, t: true, nul: null } } }) }
