{ out: std.manifestIni({ main: { a: '1', b: 2, c: true }, sections: { s1: { x: 'y', list: ['p', 'q'] }, 's 2': {} } }) }
