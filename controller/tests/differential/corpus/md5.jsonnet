{ out: [std.md5(''), std.md5('hello'), std.md5('é😀'), std.md5(std.manifestJsonEx({ a: 1 }, ' '))] }
