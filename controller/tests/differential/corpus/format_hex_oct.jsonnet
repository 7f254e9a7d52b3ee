{ out: [std.format('%x|%X|%o|%#x|%#o|%08x', [255, 255, 8, 255, 8, 3054]), std.format('%x', [-255])] }
