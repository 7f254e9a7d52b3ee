{ out: ['%s-%d' % ['a', 1], '%(name)s is %(age)d' % { name: 'x', age: 3 }, '100%%' % [], '%s' % 'single', '%c%c' % [65, 'b'], '%5.1f%%' % 99.44] }
