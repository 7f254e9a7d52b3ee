{ out: [std.base64('hello'), std.base64(''), std.base64('é'), std.base64([0, 255, 128]), std.base64Decode('aGVsbG8='), std.base64DecodeBytes('AP+A'), std.base64('a'), std.base64('ab')] }
