{ out: std.manifestYamlDoc([1, 'two', { three: 3 }, [4, [5]]]) }
