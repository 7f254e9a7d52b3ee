{ out: std.manifestIni({ sections: { db: { host: 'localhost', port: 5432 }, cache: { ttl: 0.5 } } }) }
