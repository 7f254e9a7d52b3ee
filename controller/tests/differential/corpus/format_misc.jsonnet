{ out: [std.format('%s', 'x'), std.format('%5s|', 'ab'), std.format('%d%%', 50), std.format('%.3s', 'abcdef'), std.format('[%*d]', [5, 42]), std.format('%-*s|', [4, 'a'])] }
