{ out: [std.encodeUTF8('é😀'), std.decodeUTF8([104, 105, 195, 169])] }
