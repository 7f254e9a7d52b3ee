{ out: std.manifestTomlEx({ title: 'T', owner: { name: 'n', dob: 1979 }, database: { ports: [8001, 8002], enabled: true, temp: [[1, 2], ['a']] } }, '  ') }
