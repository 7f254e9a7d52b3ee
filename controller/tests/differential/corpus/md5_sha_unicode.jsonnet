{ out: [std.md5('日本語'), std.sha256('é'), std.sha1(''), std.md5('a\nb\u0000c')] }
