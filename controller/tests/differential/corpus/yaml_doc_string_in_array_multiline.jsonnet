{ out: std.manifestYamlDoc(['a\nb', { k: ['c\nd\n'] }, [['e\n']]]) }
