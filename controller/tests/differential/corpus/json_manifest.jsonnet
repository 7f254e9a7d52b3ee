{ out: std.manifestJson({ apiVersion: 'v1', items: [{ a: 1 }, 'x', null, true], empty: {}, emptyArr: [] }) }
